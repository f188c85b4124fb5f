import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NurtureTesting
import Synchronization
import Testing

/// `nurture serve` as it runs in production: the real binary on an ephemeral port, leads and
/// events over real HTTP, the worker sending to a loopback webhook, a tracked click, a one-click
/// unsubscribe, and a clean exit on SIGTERM.
struct ServeTests {
    static let key = "e2e-key-4f1c"

    final class Server: Sendable {
        let process: Process
        let base: String
        let logs: URL
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(redirectConfiguration: .disallow))

        init(process: Process, base: String, logs: URL) {
            self.process = process
            self.base = base
            self.logs = logs
        }

        deinit {
            // A test that fails early must fail, not crash on a client still up (a second
            // shutdown after the test's own only reports that it was already done).
            client.shutdown { _ in }
            if process.isRunning { process.terminate() }
        }

        func request(_ method: HTTPMethod, _ path: String, json: String? = nil, form: String? = nil, key: String? = ServeTests.key) async throws -> (status: Int, headers: HTTPHeaders, body: String) {
            var request = HTTPClientRequest(url: base + path)
            request.method = method
            if let key { request.headers.add(name: "Authorization", value: "Bearer \(key)") }
            if let json {
                request.headers.add(name: "Content-Type", value: "application/json")
                request.body = .bytes(ByteBuffer(string: json))
            } else if let form {
                request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
                request.body = .bytes(ByteBuffer(string: form))
            }
            let response = try await client.execute(request, timeout: .seconds(10))
            let body = try await response.body.collect(upTo: 1 << 20)
            return (Int(response.status.code), response.headers, String(buffer: body))
        }

        func json(_ text: String) -> [String: Any] {
            (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:]
        }
    }

    /// Starts the binary and waits for the line that names its port.
    func start(in directory: URL, config: URL, database: String? = nil, name: String = "serve", arguments: [String] = [],
               environment: [String: String] = [:]) async throws -> Server {
        let logs = directory.appendingPathComponent(name)
        let process = try NurtureBinary.spawn(
            ["serve", "--port", "0", "--poll-ms", "50", "--database", database ?? directory.appendingPathComponent("nurture.sqlite").path, "--config", config.path]
                + arguments,
            environment: environment.merging(["NURTURE_API_KEYS": "other-key, \(Self.key)"]) { $1 }, logs: logs)
        for _ in 0..<600 {
            let out = (try? String(contentsOf: logs.appendingPathExtension("out"), encoding: .utf8)) ?? ""
            if let range = out.range(of: "listening on ") {
                let base = String(out[range.upperBound...].prefix { !$0.isNewline })
                return Server(process: process, base: base, logs: logs)
            }
            guard process.isRunning else { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        let err = (try? String(contentsOf: logs.appendingPathExtension("err"), encoding: .utf8)) ?? ""
        process.terminate()
        throw ServeError(description: "nurture serve did not start: \(err)")
    }

    /// A fresh folder for the database, with `nurture.toml` holding `configuration`.
    func scratch(_ configuration: String) throws -> (directory: URL, config: URL) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("nurture-serve-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let config = directory.appendingPathComponent("nurture.toml")
        try configuration.write(to: config, atomically: true, encoding: .utf8)
        return (directory, config)
    }

    /// A server whose email channel posts to `sink`, with links on a public https address.
    func startSendingTo(_ sink: WebhookSink) async throws -> (server: Server, directory: URL) {
        let (directory, config) = try scratch("""
            [channels.email]
            kind = "webhook"
            url = "\(sink.url.absoluteString)"
            timeout_seconds = 10
            [sending]
            public_url = "https://links.larkspur.example"
            """)
        return (try await start(in: directory, config: config), directory)
    }

    struct ServeError: Error, CustomStringConvertible {
        let description: String
    }

    @Test func leadsAndEventsOverHTTPThenAClickAnUnsubscribeAndAGracefulStop() async throws {
        let sink = try await WebhookSink.start()
        defer { Task { await sink.stop() } }
        let (server, _) = try await startSendingTo(sink)

        // When a lead and its first behaviour arrive over HTTP
        let lead = try await server.request(.POST, "/v1/leads", json: #"{"email": "ana@fernhill.example", "first_name": "Ana", "job_title": "VP Marketing", "timezone": "Europe/Lisbon"}"#)
        #expect(lead.status == 200, "\(lead.body)")
        #expect(try await server.request(.POST, "/v1/leads", json: #"{"email": "x@example.com"}"#, key: "wrong").status == 401)
        let events = try await server.request(.POST, "/v1/events", json: """
            [{"id": "web-1", "email": "ana@fernhill.example", "type": "page.viewed", "properties": {"path": "/pricing"}},
             {"id": "web-1", "email": "ana@fernhill.example", "type": "page.viewed", "properties": {"path": "/pricing"}}]
            """)
        #expect(events.body.contains(#""status":"stored""#) && events.body.contains(#""status":"duplicate""#), "\(events.body)")

        // then the worker sends the welcome email to the webhook, with tracked links
        var welcome: WebhookSink.Received?
        for _ in 0..<200 where welcome == nil {
            welcome = sink.accepted.first
            if welcome == nil { try await Task.sleep(for: .milliseconds(50)) }
        }
        let received = try #require(welcome, "no email reached the webhook")
        let payload = try #require(try JSONSerialization.jsonObject(with: received.body) as? [String: Any])
        #expect(payload["step"] as? String == "welcome-1")
        let html = try #require(payload["html"] as? String)
        let clickURL = try #require(html.components(separatedBy: "href=\"").dropFirst().map { String($0.prefix { $0 != "\"" }) }
            .first { $0.contains("/t/c/") })
        let clickPath = String(clickURL.dropFirst("https://links.larkspur.example".count))

        // and a click redirects to the link's own target and is recorded
        let click = try await server.request(.GET, clickPath, key: nil)
        #expect(click.status == 302)
        #expect(click.headers.first(name: "Location") == "https://larkspur.example/start")

        // and the one-click unsubscribe from the List-Unsubscribe header suppresses at once
        let header = try #require((payload["headers"] as? [String: String])?["List-Unsubscribe"])
        let unsubscribePath = String(header.dropFirst("<https://links.larkspur.example".count).dropLast())
        #expect(try await server.request(.GET, unsubscribePath, key: nil).body.contains("Unsubscribe</button>"))
        let unsubscribed = try await server.request(.POST, unsubscribePath, form: "List-Unsubscribe=One-Click", key: nil)
        #expect(unsubscribed.status == 200)

        let detail = server.json(try await server.request(.GET, "/v1/leads/ana@fernhill.example").body)
        #expect(((detail["lead"] as? [String: Any])?["suppressions"] as? [String: String])?["email"] == "unsubscribed")
        let types = (detail["events"] as? [[String: Any]] ?? []).compactMap { $0["type"] as? String }
        #expect(types.contains("email.clicked") && types.contains("unsubscribed") && types.filter { $0 == "page.viewed" }.count == 1)

        // and an unsubscribe stops marketing only: the invoice still reaches the lead
        let sentBefore = sink.accepted.count
        _ = try await server.request(.POST, "/v1/events", json: """
            {"email": "ana@fernhill.example", "type": "invoice.issued", "properties": {"invoice_number": "INV-1", "amount": "€90",
             "due_date": "2026-12-31", "description": "Pro", "payment_url": "https://pay.larkspur.example/INV-1"}}
            """)
        for _ in 0..<200 where sink.accepted.count == sentBefore { try await Task.sleep(for: .milliseconds(50)) }
        #expect(sink.accepted.count == sentBefore + 1)
        let invoice = try #require(sink.accepted.last.flatMap { try? JSONSerialization.jsonObject(with: $0.body) as? [String: Any] })
        #expect((invoice["campaign"] as? String) == "invoice-follow-up", "\(invoice)")

        let health = try await server.request(.GET, "/healthz", key: nil)
        #expect(health.status == 200 && health.body.contains(#""worker":"ok""#))
        let metrics = try await server.request(.GET, "/metrics", key: nil).body
        #expect(metrics.contains(#"nurture_messages_total{channel="email",status="sent"} 2"#))

        // When it is told to stop, it finishes and exits 0.
        try await server.client.shutdown()
        server.process.terminate()
        for _ in 0..<200 where server.process.isRunning { try await Task.sleep(for: .milliseconds(50)) }
        #expect(!server.process.isRunning)
        #expect(server.process.terminationStatus == 0)
        let log = try String(contentsOf: server.logs.appendingPathExtension("err"), encoding: .utf8)
        #expect(log.contains("Worker stopped after finishing its batch."))
        #expect(log.contains("request.id="))
        #expect(!log.contains(String(clickPath.dropFirst(5).prefix(20))), "tokens must not reach the logs")
    }

    /// Results from the counters the sends and the click kept: the API answers what the command
    /// line prints, for the whole playbook and for one campaign, and refuses a bad period.
    @Test func statsOverHTTPEqualTheCommandLineAndCountTheSendsAndTheClick() async throws {
        let sink = try await WebhookSink.start()
        defer { Task { await sink.stop() } }
        let (server, directory) = try await startSendingTo(sink)
        for email in ["ana@fernhill.example", "ben@fernhill.example"] {
            #expect(try await server.request(.POST, "/v1/leads", json: #"{"email": "\#(email)", "timezone": "Europe/Lisbon"}"#).status == 200)
        }
        for _ in 0..<200 where sink.accepted.count < 2 { try await Task.sleep(for: .milliseconds(50)) }
        try #require(sink.accepted.count == 2, "the two welcome emails did not arrive")
        let payload = try #require(try JSONSerialization.jsonObject(with: sink.accepted[0].body) as? [String: Any])
        let html = try #require(payload["html"] as? String)
        let clickURL = try #require(html.components(separatedBy: "href=\"").dropFirst().map { String($0.prefix { $0 != "\"" }) }.first { $0.contains("/t/c/") })
        let clickPath = String(clickURL.dropFirst("https://links.larkspur.example".count))
        // Twice: one lead clicking twice is one click of that message.
        #expect(try await server.request(.GET, clickPath, key: nil).status == 302)
        #expect(try await server.request(.GET, clickPath, key: nil).status == 302)
        // The sends are recorded a moment after the webhook answers.
        var overHTTP: [String: Any] = [:]
        for _ in 0..<100 {
            overHTTP = server.json(try await server.request(.GET, "/v1/stats").body)
            let welcome = (overHTTP["campaigns"] as? [[String: Any]])?.first { $0["campaign"] as? String == "welcome" }
            if ((welcome?["steps"] as? [[String: Any]])?.first?["sent"] as? Int) == 2 { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        let campaigns = try #require(overHTTP["campaigns"] as? [[String: Any]])
        let welcome = try #require(campaigns.first { $0["campaign"] as? String == "welcome" })
        #expect(welcome["entered"] as? Int == 2 && welcome["active"] as? Int == 2)
        let first = try #require((welcome["steps"] as? [[String: Any]])?.first)
        #expect(first["step"] as? String == "welcome-1")
        #expect(first["queued"] as? Int == 2 && first["sent"] as? Int == 2)
        #expect(first["clicked"] as? Int == 1 && first["opened"] as? Int == 1, "a click shows the email was opened: \(first)")
        #expect(first["click_rate"] as? Double == 0.5)

        // The command line reads the same database to the same numbers.
        let database = directory.appendingPathComponent("nurture.sqlite").path
        let cli = try await NurtureBinary.run(["stats", "--format", "json", "--database", database])
        #expect(cli.status == 0, "\(cli.stderr)")
        let printed = try #require(try JSONSerialization.jsonObject(with: Data(cli.stdout.utf8)) as? NSDictionary)
        #expect(printed == overHTTP as NSDictionary)
        let one = server.json(try await server.request(.GET, "/v1/campaigns/welcome/stats").body)
        #expect(((one["campaigns"] as? [[String: Any]])?.map { $0 as NSDictionary }) == [welcome as NSDictionary])
        let table = try await NurtureBinary.run(["stats", "--campaign", "welcome", "--database", database])
        #expect(table.stdout.contains("Welcome series (welcome)") && table.stdout.contains("entered 2 · active 2"), "\(table.stdout)")
        let csv = try await NurtureBinary.run(["stats", "--format", "csv", "--campaign", "welcome", "--database", database])
        #expect(csv.stdout.split(separator: "\n").first?.hasPrefix("campaign,step,variant,channel,entered") == true)
        #expect(csv.stdout.contains("welcome,welcome-1,,email,2,0,0,2,2,"), "\(csv.stdout)")

        // A period past today counts nothing; bad input is refused with where it went wrong.
        let future = server.json(try await server.request(.GET, "/v1/stats?campaign=welcome&since=2099-01-01").body)
        #expect((future["campaigns"] as? [[String: Any]])?.first?["entered"] as? Int == 0)
        #expect(try await server.request(.GET, "/v1/stats?since=yesterday").status == 400)
        #expect(try await server.request(.GET, "/v1/campaigns/nope/stats").status == 404)
        #expect(try await server.request(.GET, "/v1/stats", key: nil).status == 401)
        let refused = try await NurtureBinary.run(["stats", "--since", "2026-13-01", "--database", database])
        #expect(refused.status != 0 && refused.stderr.contains("--since '2026-13-01'"), "\(refused.stderr)")
    }

    /// Paused over the API, a campaign sends nothing while leads keep entering; the command line
    /// shows why and resumes it, and what waited is sent at once. Splits are decided once.
    @Test func aCampaignPausedOverHTTPHoldsItsSendsUntilTheCommandLineResumesIt() async throws {
        let sink = try await WebhookSink.start()
        defer { Task { await sink.stop() } }
        let (server, directory) = try await startSendingTo(sink)
        let database = directory.appendingPathComponent("nurture.sqlite").path
        #expect(try await server.request(.POST, "/v1/campaigns/welcome/pause", json: #"{"reason": "checking the copy"}"#, key: nil).status == 401)
        #expect(try await server.request(.POST, "/v1/campaigns/nope/pause", json: "{}").status == 404)
        #expect(try await server.request(.POST, "/v1/campaigns/welcome/pause", json: #"{"reason": "bad\u0007"}"#).status == 400)
        let paused = try await server.request(.POST, "/v1/campaigns/welcome/pause", json: #"{"reason": "checking the copy"}"#)
        #expect(paused.status == 200)
        #expect(server.json(paused.body)["changed"] as? Bool == true)
        #expect(try await server.request(.POST, "/v1/leads", json: #"{"email": "ana@fernhill.example", "timezone": "Europe/Lisbon"}"#).status == 200)
        // The worker polls every 50 ms: two seconds is forty looks at a due lead it must not send to.
        try await Task.sleep(for: .seconds(2))
        #expect(sink.accepted.isEmpty)
        let stats = try await NurtureBinary.run(["stats", "--campaign", "welcome", "--database", database])
        #expect(stats.stdout.contains("PAUSED since") && stats.stdout.contains("(api): checking the copy"), "\(stats.stdout)")
        let show = try await NurtureBinary.run(["campaigns", "show", "welcome", "--database", database])
        #expect(show.stdout.contains("PAUSED since"), "\(show.stdout)")
        #expect(show.stdout.contains("split welcome-3-value: running, decided automatically when a variant wins"), "\(show.stdout)")

        let resumed = try await NurtureBinary.run(["campaigns", "resume", "welcome", "--database", database])
        #expect(resumed.status == 0 && resumed.stdout.contains("resumed welcome"), "\(resumed.stderr)")
        for _ in 0..<200 where sink.accepted.isEmpty { try await Task.sleep(for: .milliseconds(50)) }
        #expect(sink.accepted.count == 1)
        let again = try await NurtureBinary.run(["campaigns", "resume", "welcome", "--database", database])
        #expect(again.stdout.contains("welcome was not paused"))

        let unknown = try await NurtureBinary.run(["experiments", "decide", "welcome", "welcome-3-value", "C", "--database", database])
        #expect(unknown.status != 0 && unknown.stderr.contains("no variant 'C'; its variants: A, B"), "\(unknown.stderr)")
        let decided = try await NurtureBinary.run(["experiments", "decide", "welcome", "welcome-3-value", "B", "--database", database])
        #expect(decided.status == 0, "\(decided.stderr)")
        let twice = try await server.request(.POST, "/v1/campaigns/welcome/experiments/welcome-3-value/decide", json: #"{"variant": "A"}"#)
        #expect(twice.status == 409)
        let listed = try await NurtureBinary.run(["experiments", "list", "--database", database])
        #expect(listed.stdout.contains("welcome split welcome-3-value: variant B decided"), "\(listed.stdout)")
        let json = server.json(try await server.request(.GET, "/v1/campaigns/welcome/stats").body)
        let experiment = ((json["campaigns"] as? [[String: Any]])?.first?["experiments"] as? [[String: Any]])?.first
        #expect((experiment?["decision"] as? [String: Any])?["variant"] as? String == "B")
        #expect(experiment?["winner_rule"] as? String == "auto, at least 200 per variant")
    }

    /// A client that writes its whole body before reading (as many do) must get its 413 and
    /// then EOF: the server reads and discards the rest of the body rather than leaving the
    /// client stuck in a write, and closes rather than wait for a request that cannot follow.
    @Test func aBodyOverTheLimitIsAnswered413ThenTheConnectionCloses() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("nurture-serve-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let config = directory.appendingPathComponent("nurture.toml")
        try "[sending]\npublic_url = \"https://links.larkspur.example\"\n".write(to: config, atomically: true, encoding: .utf8)
        let server = try await start(in: directory, config: config)
        defer { server.process.terminate() }
        let port = try #require(Int(server.base.split(separator: ":").last ?? ""))
        // 3 MiB of a valid JSON array, three times the default max_body_bytes.
        let item = Data(#"{"email": "lead@example.com", "type": "page.viewed"},"#.utf8)
        var body = Data("[".utf8)
        while body.count < 3 << 20 { body.append(item) }
        body.append(Data(#"{"email": "lead@example.com", "type": "page.viewed"}]"#.utf8))
        var request = Data("""
            POST /v1/events HTTP/1.1\r
            Host: 127.0.0.1:\(port)\r
            Authorization: Bearer \(Self.key)\r
            Content-Type: application/json\r
            Content-Length: \(body.count)\r
            \r

            """.utf8)
        request.append(body)

        let exchange = await RawHTTP.exchange(port: port, request: request, timeout: 5)

        #expect(exchange.writeError == nil, "wrote \(exchange.bytesWritten) of \(request.count) bytes: \(exchange.writeError ?? "")")
        #expect(exchange.statusLine.hasPrefix("HTTP/1.1 413 "), "\(exchange.text.prefix(300))")
        #expect(exchange.header("Connection")?.lowercased() == "close")
        #expect(exchange.text.contains(#""code":"body_too_large""#))
        #expect(exchange.sawEOF, "\(exchange.readError ?? "")")
        #expect(exchange.seconds < 5, "took \(exchange.seconds) s")

        // and the server goes on serving other connections.
        #expect(try await server.request(.GET, "/healthz", key: nil).status == 200)
        try await server.client.shutdown()
    }

    @Test func aRequestInFlightWhenSIGTERMArrivesIsAnsweredBeforeTheExit() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("nurture-serve-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let config = directory.appendingPathComponent("nurture.toml")
        try "[sending]\npublic_url = \"https://links.larkspur.example\"\n".write(to: config, atomically: true, encoding: .utf8)
        let server = try await start(in: directory, config: config)
        // A thousand events for a thousand new leads: long enough to still be in flight.
        let batch = "[" + (0..<1000).map { #"{"email": "lead\#($0)@example.com", "type": "page.viewed", "properties": {"path": "/pricing"}}"# }
            .joined(separator: ",") + "]"
        let answered = Atomic(false)
        let answer = Task {
            defer { answered.store(true, ordering: .sequentiallyConsistent) }
            return try await server.request(.POST, "/v1/events", json: batch)
        }
        // Long enough for a busy machine to have read the request (one the server has not read
        // yet is not in flight: it is closed unanswered, as any draining server does), short
        // enough that the request (about half a second on a quiet machine) is still running.
        try await Task.sleep(for: .milliseconds(250))
        let inFlight = !answered.load(ordering: .sequentiallyConsistent)
        server.process.terminate()
        let response = try await answer.value
        #expect(inFlight, "the request was answered before the signal, so this run proves nothing")
        #expect(response.status == 200, "\(response.body.prefix(300))")
        #expect(response.body.components(separatedBy: #""status":"created""#).count - 1 == 1000)
        try await server.client.shutdown()
        for _ in 0..<200 where server.process.isRunning { try await Task.sleep(for: .milliseconds(50)) }
        #expect(!server.process.isRunning && server.process.terminationStatus == 0)
    }

    /// An operator's `sqlite3` shell holds the write lock past the busy timeout: the API says
    /// 503 database_busy with Retry-After, the worker backs off and says so on /healthz and in
    /// the metrics, and once the lock is gone everything goes through. Nothing is lost.
    @Test func aLockHeldPastTheBusyTimeoutIsA503AndTheWorkerRidesItOut() async throws {
        let sink = try await WebhookSink.start()
        defer { Task { await sink.stop() } }
        let (directory, config) = try scratch("""
            [channels.email]
            kind = "webhook"
            url = "\(sink.url.absoluteString)"
            [database]
            busy_timeout_seconds = 0.5
            """)
        let server = try await start(in: directory, config: config)

        let shell = Process()
        shell.executableURL = URL(fileURLWithPath: "/usr/bin/sqlite3")
        shell.arguments = [directory.appendingPathComponent("nurture.sqlite").path]
        let input = Pipe(), output = Pipe()
        shell.standardInput = input
        shell.standardOutput = output
        try shell.run()
        // The shell waits for the lock as long as it needs (the worker may hold it for a moment).
        input.fileHandleForWriting.write(Data(".timeout 10000\nBEGIN EXCLUSIVE;\nSELECT 'locked';\n".utf8))
        #expect(String(decoding: output.fileHandleForReading.availableData, as: UTF8.self).contains("locked"))

        let refused = try await server.request(.POST, "/v1/leads", json: #"{"email": "ana@fernhill.example", "first_name": "Ana"}"#)
        #expect(refused.status == 503, "\(refused.body)")
        #expect(refused.headers.first(name: "Retry-After") == "5")
        #expect(server.json(refused.body)["error"].flatMap { ($0 as? [String: Any])?["code"] as? String } == "database_busy")
        var health = try await server.request(.GET, "/healthz", key: nil)
        for _ in 0..<100 where !health.body.contains(#""worker":"failing""#) {
            try await Task.sleep(for: .milliseconds(100))
            health = try await server.request(.GET, "/healthz", key: nil)
        }
        #expect(health.status == 503 && health.body.contains(#""worker":"failing""#) && health.body.contains("database is busy"), "\(health.body)")
        #expect(try await server.request(.GET, "/metrics", key: nil).body.contains(#"nurture_worker_failures_total{kind="database_busy"}"#))
        #expect(server.process.isRunning)

        input.fileHandleForWriting.write(Data("COMMIT;\n.quit\n".utf8))
        shell.waitUntilExit()
        let stored = try await server.request(.POST, "/v1/leads", json: #"{"email": "ana@fernhill.example", "first_name": "Ana"}"#)
        #expect(stored.status == 200, "\(stored.body)")
        for _ in 0..<200 where sink.accepted.isEmpty { try await Task.sleep(for: .milliseconds(50)) }
        #expect(sink.accepted.count == 1)
        health = try await server.request(.GET, "/healthz", key: nil)
        for _ in 0..<100 where health.status != 200 {
            try await Task.sleep(for: .milliseconds(100))
            health = try await server.request(.GET, "/healthz", key: nil)
        }
        #expect(health.status == 200, "\(health.body)")
        try await server.client.shutdown()
        server.process.terminate()
        for _ in 0..<200 where server.process.isRunning { try await Task.sleep(for: .milliseconds(50)) }
        #expect(server.process.terminationStatus == 0)
        let log = try String(contentsOf: server.logs.appendingPathExtension("err"), encoding: .utf8)
        #expect(log.contains("Worker round failed; retrying.") && log.contains("Worker recovered."))
    }
}
