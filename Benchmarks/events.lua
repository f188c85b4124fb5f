-- wrk script for POST /v1/events: BATCH events per request (set by the BATCH environment
-- variable), each for a random one of LEADS imported leads, with a unique client id.
local batch = tonumber(os.getenv("BATCH") or "1")
local leads = tonumber(os.getenv("LEADS") or "10000")
local paths = {"/pricing", "/blog/pipeline-metrics", "/customers", "/docs/crm", "/features"}
local target = os.getenv("EVENTS_PATH") or "/v1/events"
local counter = 0
-- Every run and every thread sends ids of its own: wrk seeds each thread's generator alike,
-- and a later run over the same database must not resend the earlier run's ids (duplicates
-- are cheap and would flatter the figure).
local run = os.getenv("RUN") or tostring(os.time())
local threads = 0
local thread_id = 0

function setup(thread)
  threads = threads + 1
  thread:set("thread_id", threads)
end

function init(args)
  thread_id = wrk.thread and wrk.thread:get("thread_id") or 0
end

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. (os.getenv("NURTURE_API_KEY") or "bench-key")

local function event()
  counter = counter + 1
  local n = math.random(0, leads - 1)
  return string.format('{"id":"b%s-%s-%d","email":"lead%d@example%d.com","type":"page.viewed","properties":{"path":"%s"}}',
    run, tostring(thread_id), counter, n, n % 997, paths[math.random(1, #paths)])
end

request = function()
  if batch == 1 then
    return wrk.format(nil, target, nil, event())
  end
  local items = {}
  for i = 1, batch do items[i] = event() end
  return wrk.format(nil, target, nil, "[" .. table.concat(items, ",") .. "]")
end
