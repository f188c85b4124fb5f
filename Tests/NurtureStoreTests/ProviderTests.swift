import Campaigns
import Foundation
import NurtureDeployment
import NurtureDSL
import NurtureEngine
import NurtureStorage
import NurtureTesting
import Testing

/// Each provider preset against a loopback server posing as the provider: the request matched
/// field by field against the provider's documented example, and its documented answers
/// (errors, throttling, batch results) fed back through the real dispatcher and store.
@Suite(.serialized) struct ProviderTests {
    static let monday = instant("2026-11-23 09:00")

    /// A fixture whose engine and dispatcher run the channels `toml` configures.
    struct Setup {
        let fixture: Fixture
        let deployment: Deployment
        let double: ProviderDouble

        init(_ toml: String, environment: [String: String]) async throws {
            double = try await ProviderDouble.start()
            fixture = try Fixture()
            let configuration = try NurtureConfiguration.parse(toml.replacingOccurrences(of: "$BASE", with: double.baseURL),
                                                                path: "nurture.toml", environment: environment)
            deployment = Deployment(store: fixture.store, playbook: Campaigns.playbook, templates: try Fixture.templates(),
                                    configuration: configuration, links: Fixture.links)
        }

        /// Welcome emails (or SMS) queued for `emails`, by the real playbook.
        func queue(_ emails: [String], phone: String? = nil) async throws -> [OutboxMessage] {
            let patches = emails.map { email in
                var patch = fixture.lead(email)
                if let phone {
                    patch.phone = phone
                    patch.smsConsent = true
                }
                return patch
            }
            _ = try await deployment.engine.upsert(patches, now: ProviderTests.monday)
            _ = try await deployment.engine.runDue(now: ProviderTests.monday)
            return try await fixture.store.messages(status: .pending, limit: 100)
        }

        func dispatch() async throws -> Dispatcher.Pass {
            try await deployment.dispatcher(now: { ProviderTests.monday }).dispatchDue()
        }

        func stop() async { await double.stop() }
    }

    func object(_ request: ProviderDouble.Request) throws -> [String: Any] {
        try #require(request.json as? [String: Any], "\(String(decoding: request.body, as: UTF8.self))")
    }

    // MARK: - Postmark

    static let postmark = """
        [channels.email]
        kind = "postmark"
        base_url = "$BASE"
        token_env = "POSTMARK_TOKEN"
        message_stream = "broadcast"
        """

    /// https://postmarkapp.com/developer/user-guide/send-email-with-api: `POST /email` with
    /// `X-Postmark-Server-Token`, `From`, `To`, `Subject`, `TextBody`, `HtmlBody`, `MessageStream`;
    /// https://postmarkapp.com/developer/api/email-api: `ReplyTo`, `Headers` as Name/Value pairs,
    /// `Metadata`, `Tag`.
    @Test func postmarkGetsTheDocumentedSendEmailRequest() async throws {
        let setup = try await Setup(Self.postmark, environment: ["POSTMARK_TOKEN": "pm-server-token"])
        defer { Task { await setup.stop() } }
        let message = try #require(try await setup.queue(["ana@example.com"]).first)
        setup.double.answer([.init(status: 200, body: #"{"To":"ana@example.com","SubmittedAt":"2026-11-23T09:00:00Z","MessageID":"0a129aee-e1cd-480d-b08d-4f48548ff48d","ErrorCode":0,"Message":"OK"}"#)])
        #expect(try await setup.dispatch().sent == 1)
        let request = try #require(setup.double.received.first)
        #expect(request.path == "/email")
        #expect(request.headers["x-postmark-server-token"] == "pm-server-token")
        #expect(request.headers["accept"] == "application/json")
        #expect(request.headers["content-type"] == "application/json")
        let body = try object(request)
        #expect(body["From"] as? String == "\"Maya from Larkspur\" <help@larkspur.example>")
        #expect(body["ReplyTo"] as? String == "help@larkspur.example")
        #expect(body["To"] as? String == "ana@example.com")
        #expect(body["Subject"] as? String == "Welcome to Larkspur, Ana")
        #expect((body["TextBody"] as? String)?.contains("Ana") == true)
        #expect((body["HtmlBody"] as? String)?.contains("<") == true)
        #expect(body["MessageStream"] as? String == "broadcast")
        #expect(body["Tag"] as? String == "welcome")
        #expect((body["Metadata"] as? [String: String])?["nurture_message_id"] == message.id)
        let headers = try #require(body["Headers"] as? [[String: String]])
        #expect(headers.contains(["Name": "List-Unsubscribe-Post", "Value": "List-Unsubscribe=One-Click"]))
        #expect(headers.contains { $0["Name"] == "List-Unsubscribe" && $0["Value"]?.hasPrefix("<https://nurture.example/u/") == true })
        #expect(try await setup.fixture.store.message(id: message.id)?.status == .sent)
    }

    /// Postmark's ErrorCode 406 (https://postmarkapp.com/developer/api/overview#error-codes):
    /// the recipient is inactive. The message is dead and the address suppressed at once, so the
    /// next campaign's email to it is held back at its claim without a request.
    @Test func anInactiveRecipientIsSuppressedWithPostmarksReason() async throws {
        let setup = try await Setup(Self.postmark, environment: ["POSTMARK_TOKEN": "pm-server-token"])
        defer { Task { await setup.stop() } }
        let message = try #require(try await setup.queue(["ana@example.com"]).first)
        setup.double.answer([.init(status: 422, body: #"{"ErrorCode":406,"Message":"You tried to send to recipient(s) that have been marked as inactive. Found inactive addresses: ana@example.com. Inactive recipients are ones that have generated a hard bounce, a spam complaint, or a manual suppression."}"#)])
        let pass = try await setup.dispatch()
        #expect(pass.dead == 1)
        let stored = try #require(try await setup.fixture.store.message(id: message.id))
        #expect(stored.status == .dead)
        #expect(stored.lastError?.contains("Postmark error 406") == true)
        #expect(stored.lastError?.contains("pm-server-token") == false)
        #expect(try await setup.fixture.store.suppressions(address: "ana@example.com")[.email]?.reason.contains("Postmark error 406") == true)
        // Another message to the same address is suppressed when claimed: nothing reaches Postmark.
        try await setup.deployment.engine.updateLeads(ids: [message.leadID], now: Self.monday) { work in
            work.newMessages = [OutboxMessage(id: "msg_receipt", leadID: message.leadID, campaignID: "ops", stepID: "notice", channel: .email,
                                              address: "ana@example.com", variant: nil, subject: "Hi", preview: "Hi",
                                              payload: #"{"id":"msg_receipt","to":"ana@example.com","channel":"email","lead_id":"x","campaign":"ops","step":"notice"}"#,
                                              isTransactional: true, createdAt: Self.monday)]
        }
        _ = try await setup.dispatch()
        #expect(try await setup.fixture.store.message(id: "msg_receipt")?.status == .suppressed)
        #expect(setup.double.received.count == 1)
    }

    /// When the suppression of a refused address cannot be recorded, the message is not recorded
    /// dead without it: it is tried again, and its next refusal records the suppression.
    @Test func aRefusedAddressWhoseSuppressionFailsIsTriedAgain() async throws {
        let setup = try await Setup(Self.postmark, environment: ["POSTMARK_TOKEN": "pm-server-token"])
        defer { Task { await setup.stop() } }
        let message = try #require(try await setup.queue(["ana@example.com"]).first)
        setup.double.answer([], then: .init(status: 422, body: #"{"ErrorCode":406,"Message":"You tried to send to recipient(s) that have been marked as inactive."}"#))
        var dispatcher = setup.deployment.dispatcher(now: { Self.monday })
        dispatcher.rejected = { _ in false }
        #expect(try await dispatcher.dispatchDue().retried == 1)
        #expect(try await setup.fixture.store.message(id: message.id)?.status == .pending)
        #expect(try await setup.fixture.store.suppressions(address: "ana@example.com").isEmpty)
        let later = Self.monday.addingTimeInterval(60)
        #expect(try await setup.deployment.dispatcher(now: { later }).dispatchDue().dead == 1)
        #expect(try await setup.fixture.store.suppressions(address: "ana@example.com")[.email]?.reason.contains("Postmark error 406") == true)
    }

    /// A rejected token (ErrorCode 10, HTTP 401) is the account's problem, not the message's:
    /// it waits and is retried, never thrown away.
    @Test func aBadTokenRetriesInsteadOfKillingTheMessage() async throws {
        let setup = try await Setup(Self.postmark, environment: ["POSTMARK_TOKEN": "wrong"])
        defer { Task { await setup.stop() } }
        let message = try #require(try await setup.queue(["ana@example.com"]).first)
        setup.double.answer([.init(status: 401, body: #"{"ErrorCode":10,"Message":"No Account or Server API tokens were supplied in the HTTP headers."}"#)])
        #expect(try await setup.dispatch().retried == 1)
        let stored = try #require(try await setup.fixture.store.message(id: message.id))
        #expect(stored.status == .pending)
        #expect(stored.nextAttemptAt >= Self.monday.addingTimeInterval(300))
    }

    /// `POST /email/batch` (https://postmarkapp.com/developer/api/email-api#send-batch-emails)
    /// answers 200 with one result per message in order; one failed recipient fails only itself.
    @Test func aPostmarkBatchSplitsItsAnswerPerRecipient() async throws {
        let setup = try await Setup(Self.postmark + "\nbatch_size = 10", environment: ["POSTMARK_TOKEN": "pm-server-token"])
        defer { Task { await setup.stop() } }
        let messages = try await setup.queue(["ana@example.com", "ben@example.com", "cy@example.com"])
        #expect(messages.count == 3)
        // The answer follows the request's order, whatever it is.
        setup.double.answer { request in
            guard let batch = request.json as? [[String: Any]] else { return nil }
            let results = batch.map { item in
                let to = item["To"] as? String ?? ""
                return to == "ben@example.com"
                    ? #"{"ErrorCode":406,"Message":"You tried to send to a recipient that has been marked as inactive. Found inactive addresses: ben@example.com."}"#
                    : #"{"To":"\#(to)","SubmittedAt":"2026-11-23T09:00:00Z","MessageID":"id-\#(to)","ErrorCode":0,"Message":"OK"}"#
            }
            return .init(status: 200, body: "[" + results.joined(separator: ",") + "]")
        }
        let pass = try await setup.dispatch()
        let request = try #require(setup.double.received.first)
        #expect(request.path == "/email/batch")
        #expect((request.json as? [[String: Any]])?.count == 3)
        #expect(pass.sent == 2 && pass.dead == 1)
        #expect(setup.double.received.count == 1)
        for message in messages {
            let stored = try #require(try await setup.fixture.store.message(id: message.id))
            #expect(stored.status == (message.address == "ben@example.com" ? .dead : .sent), "\(message.address)")
        }
        #expect(try await setup.fixture.store.suppressions(address: "ben@example.com")[.email] != nil)
    }

    // MARK: - SendGrid

    static let sendGridBatches = """
        [channels.email]
        kind = "sendgrid"
        base_url = "$BASE"
        api_key_env = "SENDGRID_KEY"
        batch_size = 100
        """

    /// https://www.twilio.com/docs/sendgrid/api-reference/mail-send/mail-send: `POST /v3/mail/send`,
    /// bearer key, `personalizations[].to[].email`, `from.email`/`from.name`, `reply_to`, `subject`,
    /// `content` text/plain before text/html, `headers`, `custom_args`, `categories`.
    @Test func sendGridGetsTheDocumentedMailSendRequestAndHonoursItsRateLimitReset() async throws {
        let setup = try await Setup("""
            [channels.email]
            kind = "sendgrid"
            base_url = "$BASE"
            api_key_env = "SENDGRID_KEY"
            from = "Maya <maya@larkspur.example>"
            """, environment: ["SENDGRID_KEY": "SG.test-key"])
        defer { Task { await setup.stop() } }
        let message = try #require(try await setup.queue(["ana@example.com"]).first)
        let reset = Date().timeIntervalSince1970 + 120
        setup.double.answer([.init(status: 429, headers: ["X-RateLimit-Reset": "\(Int(reset))"], body: #"{"errors":[{"message":"too many requests"}]}"#)],
                            then: .init(status: 202))
        #expect(try await setup.dispatch().retried == 1)
        let stored = try #require(try await setup.fixture.store.message(id: message.id))
        #expect(stored.lastError?.contains("too many requests") == true)
        // Retried after the reset the provider named (at least ~118 s on the dispatcher's clock).
        #expect(stored.nextAttemptAt.timeIntervalSince(Self.monday) >= 110)
        let request = try #require(setup.double.received.first)
        #expect(request.path == "/v3/mail/send")
        #expect(request.headers["authorization"] == "Bearer SG.test-key")
        let body = try object(request)
        let personalization = try #require((body["personalizations"] as? [[String: Any]])?.first)
        #expect((personalization["to"] as? [[String: String]]) == [["email": "ana@example.com"]])
        #expect((personalization["custom_args"] as? [String: String])?["nurture_message_id"] == message.id)
        #expect((body["from"] as? [String: String]) == ["email": "maya@larkspur.example", "name": "Maya"])
        #expect((body["reply_to"] as? [String: String]) == ["email": "help@larkspur.example"])
        #expect(body["subject"] as? String == "Welcome to Larkspur, Ana")
        let content = try #require(body["content"] as? [[String: String]])
        #expect(content.map { $0["type"] } == ["text/plain", "text/html"])
        #expect((body["headers"] as? [String: String])?["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click")
        #expect((body["categories"] as? [String]) == ["welcome"])
    }

    /// Personalizations (https://www.twilio.com/docs/sendgrid/for-developers/sending-email/personalizations):
    /// one request, each recipient with its own subject, headers (its own List-Unsubscribe),
    /// custom_args, and its text and HTML substituted for the shared content's tokens.
    @Test func aSendGridBatchGivesEachRecipientItsOwnMessage() async throws {
        let setup = try await Setup(Self.sendGridBatches, environment: ["SENDGRID_KEY": "SG.test-key"])
        defer { Task { await setup.stop() } }
        let messages = try await setup.queue(["ana@example.com", "ben@example.com", "cy@example.com"])
        setup.double.answer([.init(status: 202)])
        #expect(try await setup.dispatch().sent == 3)
        #expect(setup.double.received.count == 1)
        let body = try object(try #require(setup.double.received.first))
        #expect((body["content"] as? [[String: String]])?.map { $0["value"] } == ["-nurture_text-", "-nurture_html-"])
        let personalizations = try #require(body["personalizations"] as? [[String: Any]])
        #expect(personalizations.count == 3)
        var unsubscribes: Set<String> = []
        for personalization in personalizations {
            let to = try #require((personalization["to"] as? [[String: String]])?.first?["email"])
            let message = try #require(messages.first { $0.address == to })
            let rendered = try #require(try JSONSerialization.jsonObject(with: Data(message.payload.utf8)) as? [String: Any])
            #expect((personalization["custom_args"] as? [String: String])?["nurture_message_id"] == message.id)
            #expect(personalization["subject"] as? String == rendered["subject"] as? String)
            let substitutions = try #require(personalization["substitutions"] as? [String: String])
            #expect(substitutions["-nurture_text-"] == rendered["text"] as? String)
            #expect(substitutions["-nurture_html-"] == rendered["html"] as? String)
            let headers = try #require(personalization["headers"] as? [String: String])
            #expect(headers["List-Unsubscribe"] == (rendered["headers"] as? [String: String])?["List-Unsubscribe"])
            unsubscribes.insert(headers["List-Unsubscribe"] ?? "")
        }
        #expect(unsubscribes.count == 3)
    }

    /// A SendGrid 400 that names one personalization (its documented `errors[].field`) fails that
    /// recipient only; the others go again, batched without it. A message too large for
    /// SendGrid's substitutions travels in a request of its own.
    @Test func aSendGridBatchFailsOnlyTheRefusedRecipientAndSendsLargeMessagesAlone() async throws {
        let setup = try await Setup(Self.sendGridBatches, environment: ["SENDGRID_KEY": "SG.test-key"])
        defer { Task { await setup.stop() } }
        let welcomes = try await setup.queue(["ana@example.com", "ben@example.com", "cy@example.com"])
        let large = "<p>" + String(repeating: "A long report. ", count: 900) + "</p>"
        try await setup.deployment.engine.updateLeads(ids: [welcomes[0].leadID], now: Self.monday) { work in
            work.newMessages = [OutboxMessage(id: "msg_report", leadID: welcomes[0].leadID, campaignID: "ops", stepID: "report", channel: .email,
                                              address: "ana@example.com", variant: nil, subject: "Report", preview: "Report",
                                              payload: #"{"id":"msg_report","to":"ana@example.com","channel":"email","subject":"Report","html":"\#(large)","text":"Report","lead_id":"x","campaign":"ops","step":"report"}"#,
                                              isTransactional: true, createdAt: Self.monday)]
        }
        setup.double.answer { request in
            guard let body = request.json as? [String: Any], let personalizations = body["personalizations"] as? [[String: Any]] else { return nil }
            let refused = personalizations.firstIndex { ($0["to"] as? [[String: String]])?.first?["email"] == "ben@example.com" }
            guard let refused, personalizations.count > 1 else { return .init(status: 202) }
            return .init(status: 400, body: #"{"errors":[{"message":"Does not contain a valid address.","field":"personalizations.\#(refused).to.0.email","help":"http://sendgrid.com/docs/API_Reference/Web_API_v3/Mail/errors.html#message.personalizations.to"}]}"#)
        }
        let first = try await setup.dispatch()
        #expect(first.dead == 1 && first.sent == 1 && first.retried == 2, "\(first)")
        let sizes = setup.double.received.map { (($0.json as? [String: Any])?["personalizations"] as? [Any])?.count ?? 0 }
        #expect(sizes.sorted() == [1, 3], "\(sizes)")
        #expect(try await setup.fixture.store.message(id: "msg_report")?.status == .sent)
        let ben = try #require(welcomes.first { $0.address == "ben@example.com" })
        #expect(try await setup.fixture.store.message(id: ben.id)?.lastError?.contains("personalizations") == true)
        // The two others go again a second later, together, and are sent.
        let later = Self.monday.addingTimeInterval(5)
        #expect(try await setup.deployment.dispatcher(now: { later }).dispatchDue().sent == 2)
        #expect(setup.double.received.last.map { (($0.json as? [String: Any])?["personalizations"] as? [Any])?.count } == 2)
    }

    // MARK: - Mailgun

    /// https://documentation.mailgun.com/docs/mailgun/api-reference/send/mailgun/messages:
    /// `POST /v3/{domain}/messages`, basic auth `api:KEY`, form fields from/to/subject/text/html,
    /// `h:` headers, `o:tag`, `v:` user variables (returned in webhooks' `user-variables`).
    @Test func mailgunGetsTheDocumentedFormRequest() async throws {
        let setup = try await Setup("""
            [channels.email]
            kind = "mailgun"
            base_url = "$BASE"
            api_key_env = "MAILGUN_KEY"
            domain = "mg.larkspur.example"
            """, environment: ["MAILGUN_KEY": "key-123"])
        defer { Task { await setup.stop() } }
        let message = try #require(try await setup.queue(["ana@example.com"]).first)
        setup.double.answer([.init(status: 200, body: #"{"id":"<20111114174239.25659.5817@samples.mailgun.org>","message":"Queued. Thank you."}"#)])
        #expect(try await setup.dispatch().sent == 1)
        let request = try #require(setup.double.received.first)
        #expect(request.path == "/v3/mg.larkspur.example/messages")
        #expect(request.headers["authorization"] == "Basic " + Data("api:key-123".utf8).base64EncodedString())
        #expect(request.headers["content-type"] == "application/x-www-form-urlencoded")
        let form = Dictionary(request.form, uniquingKeysWith: { first, _ in first })
        #expect(form["from"] == "\"Maya from Larkspur\" <help@larkspur.example>")
        #expect(form["to"] == "ana@example.com")
        #expect(form["subject"] == "Welcome to Larkspur, Ana")
        #expect(form["text"]?.contains("Ana") == true)
        #expect(form["html"]?.contains("<") == true)
        #expect(form["h:Reply-To"] == "help@larkspur.example")
        #expect(form["h:List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click")
        #expect(form["o:tag"] == "welcome")
        #expect(form["v:nurture_message_id"] == message.id)
    }

    /// Mailgun's documented answers (https://documentation.mailgun.com/docs/mailgun/api-reference/):
    /// 401 a wrong key (the account: retried), 400 a malformed request (dead), 429 throttled (retried).
    @Test func mailgunsErrorsAreClassifiedAsDocumented() async throws {
        let setup = try await Setup("""
            [channels.email]
            kind = "mailgun"
            base_url = "$BASE"
            api_key_env = "MAILGUN_KEY"
            domain = "mg.larkspur.example"
            """, environment: ["MAILGUN_KEY": "key-123"])
        defer { Task { await setup.stop() } }
        let messages = try await setup.queue(["ana@example.com", "ben@example.com", "cy@example.com"])
        setup.double.answer { request in
            let to = Dictionary(request.form, uniquingKeysWith: { first, _ in first })["to"]
            return switch to {
            case "ana@example.com": .init(status: 401, body: "Forbidden")
            case "ben@example.com": .init(status: 400, body: #"{"message": "'to' parameter is not a valid address. please check documentation"}"#)
            default: .init(status: 429, headers: ["Retry-After": "30"], body: #"{"message": "Too many requests"}"#)
            }
        }
        let pass = try await setup.dispatch()
        #expect(pass.retried == 2 && pass.dead == 1)
        for message in messages {
            let stored = try #require(try await setup.fixture.store.message(id: message.id))
            switch message.address {
            case "ana@example.com": #expect(stored.status == .pending && stored.nextAttemptAt >= Self.monday.addingTimeInterval(300))
            case "ben@example.com": #expect(stored.status == .dead && stored.lastError?.contains("not a valid address") == true)
            default: #expect(stored.status == .pending && stored.nextAttemptAt >= Self.monday.addingTimeInterval(30))
            }
        }
    }

    // MARK: - Amazon SES

    /// https://docs.aws.amazon.com/ses/latest/APIReference-V2/API_SendEmail.html: `POST
    /// /v2/email/outbound-emails`, `FromEmailAddress`, `Destination.ToAddresses`,
    /// `Content.Simple` with `Subject`, `Body.Text`/`Body.Html` and `Headers`, `EmailTags`,
    /// signed with SigV4 for service `ses` (the signature itself is checked in `SigV4Tests`).
    @Test func sesGetsASignedSendEmailRequestAndRetriesThrottling() async throws {
        let setup = try await Setup("""
            [channels.email]
            kind = "ses"
            region = "eu-west-1"
            base_url = "$BASE"
            access_key_id_env = "AWS_KEY"
            secret_access_key_env = "AWS_SECRET"
            configuration_set = "nurture-events"
            """, environment: ["AWS_KEY": "AKIDEXAMPLE", "AWS_SECRET": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"])
        defer { Task { await setup.stop() } }
        let message = try #require(try await setup.queue(["ana@example.com"]).first)
        setup.double.answer([.init(status: 429, headers: ["x-amzn-ErrorType": "TooManyRequestsException:http://internal.amazon.com/coral/com.amazonaws.sesv2/"],
                                   body: #"{"message":"Maximum sending rate exceeded."}"#)],
                            then: .init(status: 200, body: #"{"MessageId":"0100018c-example"}"#))
        #expect(try await setup.dispatch().retried == 1)
        #expect(try await setup.fixture.store.message(id: message.id)?.lastError?.contains("TooManyRequestsException") == true)
        let request = try #require(setup.double.received.first)
        #expect(request.path == "/v2/email/outbound-emails")
        let authorization = try #require(request.headers["authorization"])
        #expect(authorization.hasPrefix("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/"))
        #expect(authorization.contains("/eu-west-1/ses/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature="))
        #expect(request.headers["x-amz-date"]?.count == 16)
        #expect(!authorization.contains("wJalrXUtnFEMI"))
        let body = try object(request)
        #expect(body["FromEmailAddress"] as? String == "\"Maya from Larkspur\" <help@larkspur.example>")
        #expect((body["Destination"] as? [String: [String]])?["ToAddresses"] == ["ana@example.com"])
        #expect((body["ReplyToAddresses"] as? [String]) == ["help@larkspur.example"])
        #expect(body["ConfigurationSetName"] as? String == "nurture-events")
        let simple = try #require((body["Content"] as? [String: Any])?["Simple"] as? [String: Any])
        #expect((simple["Subject"] as? [String: String]) == ["Data": "Welcome to Larkspur, Ana", "Charset": "UTF-8"])
        let parts = try #require(simple["Body"] as? [String: [String: String]])
        #expect(parts["Text"]?["Data"]?.contains("Ana") == true && parts["Html"]?["Charset"] == "UTF-8")
        #expect((simple["Headers"] as? [[String: String]])?.contains(["Name": "List-Unsubscribe-Post", "Value": "List-Unsubscribe=One-Click"]) == true)
        #expect((body["EmailTags"] as? [[String: String]])?.contains(["Name": "nurture_message_id", "Value": message.id]) == true)
    }

    /// The SES preset against moto in server mode (a real SES v2 emulator that scripts/test.sh
    /// starts): moto routes the request by its SigV4 credential scope, refuses an unverified
    /// sender with MessageRejected, and keeps what it accepted, read back from /moto-api/data.json.
    @Test func sesSendsThroughMotosSESv2() async throws {
        guard let moto = ProcessInfo.processInfo.environment["NURTURE_TEST_SES_URL"] else {
            Issue.record("NURTURE_TEST_SES_URL is not set: run the tests with scripts/test.sh, which starts moto (or eval \"$(scripts/moto.sh start)\")")
            return
        }
        let client = """
            import boto3, json, sys, urllib.request
            ses = boto3.client("sesv2", endpoint_url="\(moto)", region_name="eu-west-1", aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="secret")
            command = sys.argv[1] if len(sys.argv) > 1 else sys.stdin.read().strip()
            if command == "reset":
                urllib.request.urlopen(urllib.request.Request("\(moto)/moto-api/reset", method="POST"))
            elif command == "verify":
                ses.create_email_identity(EmailIdentity="larkspur.example")
            else:
                print(json.dumps(json.load(urllib.request.urlopen("\(moto)/moto-api/data.json")).get("ses", {}).get("Message", [])))
            """
        _ = try IndependentSigner.python(client, input: Data("reset".utf8))
        let setup = try await Setup("""
            [channels.email]
            kind = "ses"
            region = "eu-west-1"
            base_url = "\(moto)"
            access_key_id_env = "AWS_KEY"
            secret_access_key_env = "AWS_SECRET"
            from = "Maya <maya@larkspur.example>"
            """, environment: ["AWS_KEY": "AKIDEXAMPLE", "AWS_SECRET": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"])
        defer { Task { await setup.stop() } }
        let message = try #require(try await setup.queue(["ana@example.com"]).first)
        // Not yet verified: SES (and moto) reject the sender; the message is dead, the address untouched.
        #expect(try await setup.dispatch().dead == 1)
        #expect(try await setup.fixture.store.message(id: message.id)?.lastError?.contains("MessageRejected") == true)
        #expect(try await setup.fixture.store.suppressions(address: "ana@example.com").isEmpty)
        _ = try IndependentSigner.python(client, input: Data("verify".utf8))
        #expect(try await setup.fixture.store.retryDeadLetters(ids: [message.id], now: Self.monday) == 1)
        #expect(try await setup.dispatch().sent == 1)
        let stored = try #require(try JSONSerialization.jsonObject(with: IndependentSigner.python(client, input: Data("read".utf8))) as? [[String: Any]])
        let sent = try #require(stored.first)
        #expect(stored.count == 1)
        #expect(sent["subject"] as? String == "Welcome to Larkspur, Ana")
        #expect((sent["destinations"] as? [String: [String]])?["ToAddresses"] == ["ana@example.com"])
        #expect((sent["source"] as? String)?.contains("maya@larkspur.example") == true)
        #expect((sent["body"] as? String)?.contains("Ana") == true)
    }

    // MARK: - Twilio and Telnyx

    static let twilio = """
        [channels.sms]
        kind = "twilio"
        base_url = "$BASE"
        account_sid = "AC0123456789abcdef0123456789abcdef"
        token_env = "TWILIO_TOKEN"
        from = "+441615550100"
        [sending]
        public_url = "https://nurture.example"
        [inbound.twilio]
        token_env = "TWILIO_TOKEN"
        """

    /// An SMS queued directly (the shipped welcome sends email): a transactional notice.
    func queueSMS(_ setup: Setup) async throws -> OutboxMessage {
        let leadID = try #require(try await setup.deployment.engine.upsertLeads([{
            var patch = setup.fixture.lead("ana@example.com", smsConsent: true)
            patch.phone = "+351912345678"
            return patch
        }()], now: Self.monday).first?.leadID)
        let message = OutboxMessage(id: "msg_sms_1", leadID: leadID, campaignID: "ops", stepID: "notice", channel: .sms, address: "+351912345678",
                                    variant: nil, subject: nil, preview: "Your demo is at 10:00.",
                                    payload: #"{"body":"Your demo is at 10:00.","campaign":"ops","channel":"sms","id":"msg_sms_1","lead_id":"\#(leadID)","step":"notice","to":"+351912345678"}"#,
                                    isTransactional: true, createdAt: Self.monday)
        try await setup.deployment.engine.updateLeads(ids: [leadID], now: Self.monday) { work in work.newMessages = [message] }
        return message
    }

    /// https://www.twilio.com/docs/messaging/api/message-resource#create-a-message-resource:
    /// `POST /2010-04-01/Accounts/{AccountSid}/Messages.json`, basic auth SID:token, form `To`,
    /// `From`, `Body`, `StatusCallback`. Error 21610 (https://www.twilio.com/docs/api/errors/21610):
    /// the number replied STOP; it is suppressed, with no confirmation text sent to it.
    @Test func twilioGetsTheDocumentedFormAndAStoppedNumberIsSuppressed() async throws {
        let setup = try await Setup(Self.twilio, environment: ["TWILIO_TOKEN": "tw-auth-token"])
        defer { Task { await setup.stop() } }
        let message = try await queueSMS(setup)
        setup.double.answer([.init(status: 400, body: #"{"code": 21610, "message": "Attempt to send to unsubscribed recipient", "more_info": "https://www.twilio.com/docs/errors/21610", "status": 400}"#)])
        #expect(try await setup.dispatch().dead == 1)
        let request = try #require(setup.double.received.first)
        #expect(request.path == "/2010-04-01/Accounts/AC0123456789abcdef0123456789abcdef/Messages.json")
        #expect(request.headers["authorization"] == "Basic " + Data("AC0123456789abcdef0123456789abcdef:tw-auth-token".utf8).base64EncodedString())
        let form = Dictionary(request.form, uniquingKeysWith: { first, _ in first })
        #expect(form["To"] == "+351912345678")
        #expect(form["From"] == "+441615550100")
        #expect(form["Body"] == "Your demo is at 10:00.")
        #expect(form["StatusCallback"] == "https://nurture.example/v1/inbound/twilio?message_id=\(message.id)")
        #expect(try await setup.fixture.store.suppressions(address: "+351912345678")[.sms] == Suppression(.all, reason: "SMS STOP"))
        #expect(try await setup.fixture.store.message(id: message.id)?.lastError?.contains("Twilio error 21610") == true)
        // No STOP confirmation is queued to a number the carrier already blocks.
        #expect(try await setup.fixture.store.messages(status: .pending, limit: 10).isEmpty)
        // It is an opt-out like any other: texting START lifts it, as it lifts Twilio's own block.
        _ = try await setup.deployment.engine.track(IncomingEvent(subject: .phone("+351912345678"), type: ComplianceEvent.smsOptedIn, at: Self.monday), now: Self.monday)
        #expect(try await setup.fixture.store.suppressions(address: "+351912345678")[.sms] == nil)
    }

    /// https://developers.telnyx.com/docs/messaging/messages/send-message: `POST /v2/messages`,
    /// bearer key, JSON `from`, `to`, `text`; error 40300 "Blocked due to STOP message".
    @Test func telnyxGetsTheDocumentedRequestAndAStoppedNumberIsSuppressed() async throws {
        let setup = try await Setup("""
            [channels.sms]
            kind = "telnyx"
            base_url = "$BASE"
            api_key_env = "TELNYX_KEY"
            from = "+15551234567"
            """, environment: ["TELNYX_KEY": "KEY0123"])
        defer { Task { await setup.stop() } }
        let message = try await queueSMS(setup)
        setup.double.answer([.init(status: 422, body: #"{"errors":[{"code":"40300","title":"Blocked due to STOP message","detail":"Messages cannot be sent from '+15551234567' to '+351912345678' due to an existing block rule."}]}"#)])
        #expect(try await setup.dispatch().dead == 1)
        let request = try #require(setup.double.received.first)
        #expect(request.path == "/v2/messages")
        #expect(request.headers["authorization"] == "Bearer KEY0123")
        let body = try object(request)
        #expect(body["from"] as? String == "+15551234567")
        #expect(body["to"] as? String == "+351912345678")
        #expect(body["text"] as? String == "Your demo is at 10:00.")
        #expect(try await setup.fixture.store.suppressions(address: "+351912345678")[.sms] == Suppression(.all, reason: "SMS STOP"))
        #expect(try await setup.fixture.store.message(id: message.id)?.lastError?.contains("40300") == true)
    }

    // MARK: - Pacing and configuration

    /// `max_per_second` spaces requests over all of the channel's slots.
    @Test func maxPerSecondPacesRequests() async throws {
        let setup = try await Setup(Self.postmark + "\nmax_per_second = 20\nconcurrency = 8", environment: ["POSTMARK_TOKEN": "t"])
        defer { Task { await setup.stop() } }
        _ = try await setup.queue((0..<6).map { "lead\($0)@example.com" })
        let started = ContinuousClock.now
        #expect(try await setup.dispatch().sent == 6)
        // Six requests at 20 a second: the last may start no sooner than 5 intervals after the first.
        #expect(ContinuousClock.now - started >= .milliseconds(240))
    }

    /// A paced channel holds only itself: SMS goes out at once while email waits its turn.
    @Test func pacingOneChannelDoesNotHoldTheOther() async throws {
        let setup = try await Setup(Self.postmark + "\nmax_per_second = 2\n" + """
            [channels.sms]
            kind = "telnyx"
            base_url = "$BASE"
            api_key_env = "TELNYX_KEY"
            from = "+15551234567"
            """, environment: ["POSTMARK_TOKEN": "t", "TELNYX_KEY": "k"])
        defer { Task { await setup.stop() } }
        _ = try await setup.queue((0..<4).map { "lead\($0)@example.com" })
        let sms = try await queueSMS(setup)
        setup.double.answer([], then: .init(status: 200, body: "{}"))
        #expect(try await setup.dispatch().sent == 5)
        let paths = setup.double.received.map(\.path)
        // Four emails at two a second take 1.5 s; the SMS is not queued behind them.
        let smsPosition = try #require(paths.firstIndex(of: "/v2/messages"))
        #expect(smsPosition < 3, "\(paths)")
        #expect(try await setup.fixture.store.message(id: sms.id)?.status == .sent)
    }

    @Test func presetsExplainWhatIsMissing() throws {
        func problem(_ toml: String, _ environment: [String: String] = [:]) -> String {
            do {
                _ = try NurtureConfiguration.parse(toml, path: "nurture.toml", environment: environment)
                return "no error"
            } catch { return "\(error)" }
        }
        #expect(problem("[channels.email]\nkind = \"postmark\"") == #"nurture.toml:1: error: 'channels.email.token_env' is required for kind "postmark": the variable holding the Postmark server token"#)
        #expect(problem("[channels.email]\nkind = \"postmark\"\ntoken_env = \"PM\"") == "nurture.toml:3: error: 'channels.email.token_env' names PM, which is not set")
        #expect(problem("[channels.email]\nkind = \"twilio\"").contains("'channels.email.kind' is 'twilio'; use"))
        #expect(problem("[channels.sms]\nkind = \"twilio\"\naccount_sid = \"AC1\"\ntoken_env = \"T\"", ["T": "x"])
            == "nurture.toml:1: error: 'channels.sms' needs 'from' (a Twilio number) or 'messaging_service_sid' to send from")
        #expect(problem("[channels.email]\nkind = \"ses\"\naccess_key_id_env = \"A\"\nsecret_access_key_env = \"S\"", ["A": "a", "S": "s"])
            .contains("'channels.email.region' is required"))
        #expect(problem("[channels.email]\nkind = \"mailgun\"\napi_key_env = \"K\"\ndomain = \"mg.example\"\nbatch_size = 10", ["K": "k"])
            .contains("batch_size' is offered for kinds \"postmark\" and \"sendgrid\" only"))
        #expect(problem("[inbound.sendgrid]\npublic_key_env = \"K\"", ["K": "not-a-key"]).contains("does not hold a base64 P-256 public key"))
        #expect(problem("[inbound.telnyx]\npublic_key_env = \"K\"", ["K": "AAAA"]).contains("does not hold a base64 Ed25519 public key"))
        #expect(problem("[inbound.ses]\ntopic_arn = \"nurture-ses\"").contains("not an SNS topic ARN"))
        let eu = try NurtureConfiguration.parse("[channels.email]\nkind = \"mailgun\"\nregion = \"eu\"\napi_key_env = \"K\"\ndomain = \"mg.example\"",
                                                path: "nurture.toml", environment: ["K": "secret-key"])
        #expect(eu.email.provider?.baseURL.absoluteString == "https://api.eu.mailgun.net")
        // A secret never shows in the configuration's description.
        #expect(!"\(eu)".contains("secret-key") && !String(reflecting: eu).contains("secret-key"))
    }
}
