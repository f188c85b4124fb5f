import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Testing

/// A real headless Chromium, driven over the W3C WebDriver protocol by Debian's chromedriver
/// (https://www.w3.org/TR/webdriver2/), through the dashboard of a deployment the demo filled:
/// sign-in, overview, a campaign, the leads and a lead, asserting on the DOM the browser built.
/// With NURTURE_SCREENSHOTS_DIR set, it keeps a screenshot of each page there (docs/ holds the
/// README's).
extension ServeTests {
    /// chromedriver on a port of its own, and one browser session.
    final class Browser: Sendable {
        let driver: Process
        let base: String
        let session: String
        let client = HTTPClient(eventLoopGroupProvider: .singleton)

        static func start(logs: URL) async throws -> Browser {
            for binary in ["/usr/bin/chromedriver", "/usr/bin/chromium"] where !FileManager.default.isExecutableFile(atPath: binary) {
                throw ServeError(description: "\(binary) is missing: scripts/test.sh installs chromium and chromium-driver (scripts/setup.sh --browser)")
            }
            var lastError = ""
            for _ in 0..<5 {
                let port = Int.random(in: 20_000...40_000)
                let driver = Process()
                driver.executableURL = URL(fileURLWithPath: "/usr/bin/chromedriver")
                driver.arguments = ["--port=\(port)", "--allowed-ips=127.0.0.1"]
                driver.standardOutput = try FileHandle(forWritingTo: Self.file(logs.appendingPathExtension("out")))
                driver.standardError = try FileHandle(forWritingTo: Self.file(logs.appendingPathExtension("err")))
                try driver.run()
                let base = "http://127.0.0.1:\(port)"
                let client = HTTPClient(eventLoopGroupProvider: .singleton)
                defer { client.shutdown { _ in } }
                for _ in 0..<100 where driver.isRunning {
                    if let status = try? await Self.call(client, .GET, base + "/status", nil), (status["value"] as? [String: Any])?["ready"] as? Bool == true {
                        let created = try await Self.call(client, .POST, base + "/session", [
                            "capabilities": ["alwaysMatch": ["browserName": "chrome", "goog:chromeOptions": [
                                "binary": "/usr/bin/chromium",
                                // Root needs --no-sandbox; a fixed window makes the screenshots comparable.
                                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,1100"],
                            ]]],
                        ])
                        guard let session = (created["value"] as? [String: Any])?["sessionId"] as? String else {
                            driver.terminate()
                            throw ServeError(description: "chromedriver opened no session: \(created)")
                        }
                        return Browser(driver: driver, base: base, session: session)
                    }
                    try await Task.sleep(for: .milliseconds(100))
                }
                lastError = (try? String(contentsOf: logs.appendingPathExtension("err"), encoding: .utf8)) ?? ""
                driver.terminate()
            }
            throw ServeError(description: "chromedriver did not start: \(lastError)")
        }

        static func file(_ url: URL) throws -> URL {
            FileManager.default.createFile(atPath: url.path, contents: nil)
            return url
        }

        init(driver: Process, base: String, session: String) {
            self.driver = driver
            self.base = base
            self.session = session
        }

        deinit {
            client.shutdown { _ in }
            if driver.isRunning { driver.terminate() }
        }

        static func call(_ client: HTTPClient, _ method: HTTPMethod, _ url: String, _ body: [String: Any]?) async throws -> [String: Any] {
            var request = HTTPClientRequest(url: url)
            request.method = method
            if let body {
                request.headers.add(name: "Content-Type", value: "application/json")
                request.body = .bytes(ByteBuffer(data: try JSONSerialization.data(withJSONObject: body)))
            }
            let response = try await client.execute(request, timeout: .seconds(60))
            let data = try await response.body.collect(upTo: 32 << 20)
            return (try JSONSerialization.jsonObject(with: Data(buffer: data))) as? [String: Any] ?? [:]
        }

        @discardableResult
        func command(_ method: HTTPMethod, _ path: String, _ body: [String: Any]? = [:]) async throws -> Any? {
            let answer = try await Self.call(client, method, "\(base)/session/\(session)\(path)", method == .GET || method == .DELETE ? nil : body)
            if let error = (answer["value"] as? [String: Any])?["error"] as? String {
                throw ServeError(description: "WebDriver \(path): \(error): \((answer["value"] as? [String: Any])?["message"] ?? "")")
            }
            return answer["value"]
        }

        func go(_ url: String) async throws { try await command(.POST, "/url", ["url": url]) }
        func url() async throws -> String { try await command(.GET, "/url") as? String ?? "" }
        func source() async throws -> String { try await command(.GET, "/source") as? String ?? "" }

        /// The first element matching a CSS selector.
        func element(_ selector: String) async throws -> String {
            let found = try await command(.POST, "/element", ["using": "css selector", "value": selector]) as? [String: Any]
            guard let id = found?.values.first as? String else { throw ServeError(description: "no element \(selector)") }
            return id
        }

        func type(_ text: String, into selector: String) async throws {
            try await command(.POST, "/element/\(try await element(selector))/value", ["text": text])
        }

        func click(_ selector: String) async throws {
            try await command(.POST, "/element/\(try await element(selector))/click")
        }

        func text(_ selector: String) async throws -> String {
            try await command(.GET, "/element/\(try await element(selector))/text") as? String ?? ""
        }

        func script(_ source: String) async throws -> Any? {
            try await command(.POST, "/execute/sync", ["script": source, "args": [Any]()])
        }

        func screenshot(_ name: String) async throws {
            guard let directory = ProcessInfo.processInfo.environment["NURTURE_SCREENSHOTS_DIR"],
                  let encoded = try await command(.GET, "/screenshot") as? String, let png = Data(base64Encoded: encoded)
            else { return }
            try png.write(to: URL(fileURLWithPath: directory).appendingPathComponent("\(name).png"))
        }

        func close() async {
            _ = try? await command(.DELETE, "")
            driver.terminate()
        }
    }

    @Test func aMarketerSignsInAndReadsTheOverviewACampaignAndALeadInARealBrowser() async throws {
        let (directory, config) = try scratch("[sending]\npublic_url = \"http://links.larkspur.example\"\n")
        let database = directory.appendingPathComponent("demo.sqlite").path
        let demo = try await NurtureBinary.run(["demo", "--database", database, "--hours-per-second", "0"])
        #expect(demo.status == 0, "\(demo.stderr)")
        let server = try await start(in: directory, config: config, database: database, arguments: ["--no-worker"])
        defer { server.process.terminate() }
        let browser = try await Browser.start(logs: directory.appendingPathComponent("chromedriver"))

        // Signed out, the browser lands on the sign-in form.
        try await browser.go(server.base + "/")
        #expect(try await browser.url().hasSuffix("/login"))
        try await browser.type("wrong-key", into: "input[name=key]")
        try await browser.click("button[type=submit]")
        #expect(try await browser.text("[role=alert]").contains("not right"))
        try await browser.screenshot("dashboard-login")
        try await browser.type(Self.key, into: "input[name=key]")
        try await browser.click("button[type=submit]")

        // The overview: the demo's campaigns, the chart drawn, and nothing loaded from elsewhere.
        #expect(try await browser.url() == server.base + "/")
        let overview = try await browser.source()
        #expect(overview.contains("Sends per day") && overview.contains("Welcome series"), "\(overview.prefix(2000))")
        let bars = try await browser.script("return document.querySelectorAll('svg rect').length") as? Int ?? 0
        #expect(bars >= 30, "the chart has \(bars) bars")
        let fetched = try await browser.script("return performance.getEntriesByType('resource').map(e => e.name)") as? [String] ?? []
        #expect(fetched.allSatisfy { $0.hasPrefix(server.base) }, "fetched from elsewhere: \(fetched)")
        try await browser.screenshot("dashboard-overview")

        // A campaign: its journey with counts, its funnel, its split, and the pause button.
        try await browser.click("a[href='/campaigns/welcome']")
        let campaign = try await browser.source()
        #expect(campaign.contains("Journey") && campaign.contains("email welcome-1") && campaign.contains("sent ·"), "\(campaign.prefix(2000))")
        #expect(campaign.contains("welcome-3-value") && campaign.contains(">Pause</button>"))
        try await browser.screenshot("dashboard-campaign")

        // The leads, best first, and one lead's score and timeline.
        try await browser.go(server.base + "/leads")
        #expect(try await browser.text("h1") == "Top leads")
        try await browser.screenshot("dashboard-leads")
        try await browser.click("table a[href^='/leads/']")
        let lead = try await browser.source()
        #expect(lead.contains("Timeline") && lead.contains("Campaigns") && lead.contains("lead.created"), "\(lead.prefix(2000))")
        try await browser.screenshot("dashboard-lead")
        try await browser.go(server.base + "/outbox")
        #expect(try await browser.text("h1") == "Outbox")
        try await browser.screenshot("dashboard-outbox")
        await browser.close()
    }
}
