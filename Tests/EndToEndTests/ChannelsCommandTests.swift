import Foundation
import NurtureTesting
import Testing

/// `nurture channels check|test`, the real binary, against a loopback server posing as Postmark.
@Suite(.serialized) struct ChannelsCommandTests {
    func directory(_ toml: String) throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("nurture-channels-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try Data(toml.utf8).write(to: directory.appendingPathComponent("nurture.toml"))
        return directory
    }

    @Test func checkReportsMistakesByLineAndWarnsWhatAPresetWouldLose() async throws {
        let broken = try directory("[sending]\npublic_url = \"https://nurture.example\"\n\n[channels.email]\nkind = \"postmark\"\ntoken_env = \"MISSING_TOKEN\"\n")
        let failed = try await NurtureBinary.run(["channels", "check", "--config", broken.appendingPathComponent("nurture.toml").path])
        #expect(failed.status == 1)
        #expect(failed.stderr.contains("nurture.toml:6: error: 'channels.email.token_env' names MISSING_TOKEN, which is not set"), "\(failed.stderr)")
        let working = try directory("[channels.email]\nkind = \"postmark\"\ntoken_env = \"PM_TOKEN\"\n")
        let checked = try await NurtureBinary.run(["channels", "check", "--config", working.appendingPathComponent("nurture.toml").path],
                                                  environment: ["PM_TOKEN": "pm-secret-token"])
        #expect(checked.status == 0, "\(checked.stderr)")
        #expect(checked.stdout.contains("email: postmark at https://api.postmarkapp.com"))
        #expect(checked.stdout.contains("warning: [inbound.postmark] is not set"))
        #expect(checked.stdout.contains("warning: [sending] public_url is http://localhost:8080"))
        #expect(!checked.stdout.contains("pm-secret-token") && !checked.stderr.contains("pm-secret-token"))
    }

    @Test func testSendsALabelledMessageAndPrintsTheProvidersAnswer() async throws {
        let double = try await ProviderDouble.start()
        defer { Task { await double.stop() } }
        let folder = try directory("[channels.email]\nkind = \"postmark\"\nbase_url = \"\(double.baseURL)\"\ntoken_env = \"PM_TOKEN\"\n")
        double.answer([.init(status: 200, body: #"{"To":"ops@larkspur.example","SubmittedAt":"2026-12-03T10:00:00Z","MessageID":"b7bc2f4a","ErrorCode":0,"Message":"OK"}"#),
                       .init(status: 422, body: #"{"ErrorCode":406,"Message":"You tried to send to recipient(s) that have been marked as inactive."}"#)])
        let arguments = ["channels", "test", "--channel", "email", "--to", "ops@larkspur.example",
                         "--config", folder.appendingPathComponent("nurture.toml").path, "--database", folder.appendingPathComponent("n.sqlite").path]
        let sent = try await NurtureBinary.run(arguments, environment: ["PM_TOKEN": "pm-secret-token"])
        #expect(sent.status == 0, "\(sent.stderr)")
        #expect(sent.stdout.contains("Postmark answered HTTP 200"))
        #expect(sent.stdout.contains("sent msg_test_"))
        let request = try #require(double.received.first)
        #expect(request.path == "/email")
        let body = try #require(request.json as? [String: Any])
        #expect(body["To"] as? String == "ops@larkspur.example")
        #expect((body["Subject"] as? String)?.hasPrefix("[Nurture test]") == true)
        let refused = try await NurtureBinary.run(arguments, environment: ["PM_TOKEN": "pm-secret-token"])
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("the provider refuses this address: Postmark error 406"), "\(refused.stderr)")
    }
}
