-- wrk request for the sink's ceiling: the same size and shape as a dispatched message.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["webhook-id"] = "msg_load"
wrk.body = '{"id":"msg_load","text":"' .. string.rep("x", 3000) .. '"}'
