import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import NurtureEngine
import NurtureServer
import NurtureTesting
import Synchronization
import Testing

/// Each provider's inbound webhook with the provider's documented payloads, signed by an
/// independent implementation (Python's `hmac` and `cryptography`, or the provider's published
/// vector): a valid one is applied once; a wrong key, a changed byte, a stale timestamp and a
/// replay are refused or ignored with nothing changed.
struct ProviderInboundTests {
    func post(_ client: any TestClientProtocol, _ path: String, body: String, headers: HTTPFields, contentType: String = "application/json") async throws -> TestResponse {
        var fields = headers
        fields[.contentType] = contentType
        return try await client.execute(uri: path, method: .post, headers: fields, body: ByteBuffer(string: body))
    }

    func field(_ name: String) -> HTTPField.Name { HTTPField.Name(name)! }

    // MARK: - Postmark

    /// The Bounce sample of https://postmarkapp.com/developer/webhooks/bounce-webhook (as
    /// published in Postmark's postmark-skills payload examples), addressed to our message.
    @Test func postmarkBouncesNeedTheWebhooksBasicAuthAndApplyOnce() async throws {
        let fixture = try ServerFixture { settings in
            settings.inboundProviders.postmarkUsername = SecretValue("postmark")
            settings.inboundProviders.postmarkPassword = SecretValue("hook-password")
        }
        try await fixture.test { client in
            let (_, message, _) = try await welcomedLead(fixture, client: client)
            try await fixture.runWorker()
            let bounce = """
                {"RecordType": "Bounce", "ID": 42, "Type": "HardBounce", "TypeCode": 1, "Name": "Hard bounce", "ServerID": 23,
                 "MessageStream": "outbound", "MessageID": "883953f4-6105-42a2-a16a-77a8eac79483", "Tag": "welcome",
                 "Description": "The server was unable to deliver your message (ex: unknown user, mailbox not found).",
                 "Details": "smtp;550 5.1.1 The email account that you tried to reach does not exist.",
                 "Email": "ana@fernhill.example", "From": "sender@yourdomain.com", "BouncedAt": "2025-04-05T16:33:54.9070259Z",
                 "DumpAvailable": true, "Inactive": true, "CanActivate": true, "Subject": "Welcome to Larkspur",
                 "Metadata": {"nurture_message_id": "\(message.id)"}}
                """
            let wrong = try await post(client, "/v1/inbound/postmark", body: bounce,
                                       headers: [.authorization: ProviderHTTP.basicAuthorization(user: "postmark", password: "guess")])
            #expect(wrong.status == .unauthorized)
            #expect(try await fixture.store.suppressions(address: "ana@fernhill.example").isEmpty)
            let auth: HTTPFields = [.authorization: ProviderHTTP.basicAuthorization(user: "postmark", password: "hook-password")]
            let first = try await post(client, "/v1/inbound/postmark", body: bounce, headers: auth)
            #expect(first.status == .ok, "\(first.text)")
            #expect(try await fixture.store.suppressions(address: "ana@fernhill.example")[.email] == Suppression(.all, reason: "hard bounce"))
            #expect(try await fixture.store.message(id: message.id)?.delivery == "bounced")
            let replay = try await post(client, "/v1/inbound/postmark", body: bounce, headers: auth)
            #expect(replay.json["replayed"] as? Bool == true)
            // An auto-responder is acknowledged and changes nothing.
            // An unsubscribe Postmark took for an address no lead has yet still suppresses it.
            let change = #"{"RecordType": "SubscriptionChange", "ServerID": 23, "MessageStream": "broadcast", "MessageID": "883953f4-6105-42a2-a16a-77a8eac79483", "Recipient": "nobody@fernhill.example", "Tag": "newsletter", "ChangedAt": "2025-04-05T16:33:54.9070259Z", "Origin": "Recipient", "SuppressSending": true, "SuppressionReason": "ManualSuppression", "Metadata": {}}"#
            #expect(try await post(client, "/v1/inbound/postmark", body: change, headers: auth).status == .ok)
            #expect(try await fixture.store.suppressions(address: "nobody@fernhill.example")[.email] == Suppression(.marketing, reason: "unsubscribed"))
            let ignored = try await post(client, "/v1/inbound/postmark", body: bounce.replacingOccurrences(of: "\"HardBounce\"", with: "\"AutoResponder\"")
                .replacingOccurrences(of: "\"Inactive\": true", with: "\"Inactive\": false"), headers: auth)
            #expect(ignored.status == .ok && (ignored.json["results"] as? [Any])?.isEmpty == true)
        }
        let unconfigured = try ServerFixture()
        try await unconfigured.test { client in
            let answer = try await post(client, "/v1/inbound/postmark", body: "{}", headers: [:])
            #expect(answer.status == .unauthorized && answer.text.contains("[inbound.postmark]"))
        }
    }

    // MARK: - SendGrid

    /// SendGrid's published Signed Event Webhook vector (sendgrid-python
    /// test/unit/test_eventwebhook.py, the same in sendgrid-nodejs): the dropped event for a
    /// bounced address suppresses it; the published wrong key, a changed byte and a stale
    /// timestamp are refused.
    @Test func sendGridsPublishedSignedEventIsVerified() async throws {
        let publicKey = "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE83T4O/n84iotIvIW4mdBgQ/7dAfSmpqIM8kF9mN1flpVKS3GRqe62gw+2fNNRaINXvVpiglSI8eNEc6wEA3F+g=="
        let signature = "MEUCIGHQVtGj+Y3LkG9fLcxf3qfI10QysgDWmMOVmxG0u6ZUAiEAyBiXDWzM+uOe5W0JuG+luQAbPIqHh89M15TluLtEZtM="
        let timestamp = "1600112502"
        let payload = #"[{"email":"hello@world.com","event":"dropped","reason":"Bounced Address","sg_event_id":"ZHJvcC0xMDk5NDkxOS1MUnpYbF9OSFN0T0doUTRrb2ZTbV9BLTA","sg_message_id":"LRzXl_NHStOGhQ4kofSm_A.filterdrecv-p3mdw1-756b745b58-kmzbl-18-5F5FC76C-9.0","smtp-id":"<LRzXl_NHStOGhQ4kofSm_A@ismtpd0039p1iad1.sendgrid.net>","timestamp":1600112492}]"# + "\r\n"
        let headers: HTTPFields = [field("X-Twilio-Email-Event-Webhook-Signature"): signature, field("X-Twilio-Email-Event-Webhook-Timestamp"): timestamp]
        let wrongKey = try ServerFixture(now: Date(timeIntervalSince1970: 1_600_112_510)) { settings in
            settings.inboundProviders.sendgridPublicKey = "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEqTxd43gyp8IOEto2LdIfjRQrIbsd4SXZkLW6jDutdhXSJCWHw8REntlo7aNDthvj+y7GjUuFDb/R1NGe1OPzpA=="
        }
        try await wrongKey.test { client in
            let answer = try await post(client, "/v1/inbound/sendgrid", body: payload, headers: headers)
            #expect(answer.status == .unauthorized)
        }
        let fixture = try ServerFixture(now: Date(timeIntervalSince1970: 1_600_112_510)) { settings in
            settings.inboundProviders.sendgridPublicKey = publicKey
        }
        try await fixture.test { client in
            let changed = payload.replacingOccurrences(of: "hello@world.com", with: "hello@world.org")
            #expect(try await post(client, "/v1/inbound/sendgrid", body: changed, headers: headers).status == .unauthorized)
            #expect(try await fixture.store.suppressions(address: "hello@world.org").isEmpty)
            let answer = try await post(client, "/v1/inbound/sendgrid", body: payload, headers: headers)
            #expect(answer.status == .ok, "\(answer.text)")
            #expect(try await fixture.store.suppressions(address: "hello@world.com")[.email] == Suppression(.all, reason: "hard bounce"))
            fixture.advance(3600)
            #expect(try await post(client, "/v1/inbound/sendgrid", body: payload, headers: headers).status == .unauthorized)
        }
    }

    /// Events signed here with a key made by Python's `cryptography` (ECDSA P-256, SHA-256 over
    /// timestamp + body): a bounce of our message by its custom_args, a blocked one as soft.
    @Test func sendGridEventsSignedByAnIndependentKeyReachTheMessage() async throws {
        let keys = try JSONSerialization.jsonObject(with: IndependentSigner.python("""
            import base64, json
            from cryptography.hazmat.primitives.asymmetric import ec
            from cryptography.hazmat.primitives import serialization
            key = ec.generate_private_key(ec.SECP256R1())
            public = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
            private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
            print(json.dumps({"public": base64.b64encode(public).decode(), "private": private.decode()}))
            """)) as! [String: String]
        let fixture = try ServerFixture { settings in settings.inboundProviders.sendgridPublicKey = keys["public"] }
        try await fixture.test { client in
            let (_, message, _) = try await welcomedLead(fixture, client: client)
            try await fixture.runWorker()
            let timestamp = "\(Int(fixture.now.timeIntervalSince1970))"
            // A drop for spam content is about the message, not the address: nothing is suppressed for it.
            let body = #"[{"email":"ana@fernhill.example","event":"bounce","type":"bounce","reason":"550 5.1.1 unknown user","sg_event_id":"ev-1","nurture_message_id":"\#(message.id)","timestamp":\#(timestamp)},"#
                + #"{"email":"ben@fernhill.example","event":"dropped","reason":"Spam Content","sg_event_id":"ev-2","timestamp":\#(timestamp)}]"# + "\r\n"
            let signature = String(decoding: try IndependentSigner.python("""
                import base64, sys
                from cryptography.hazmat.primitives import hashes, serialization
                from cryptography.hazmat.primitives.asymmetric import ec
                data = sys.stdin.buffer.read()
                key = serialization.load_pem_private_key(\(Self.pythonLiteral(keys["private"]!)).encode(), password=None)
                sys.stdout.write(base64.b64encode(key.sign(data, ec.ECDSA(hashes.SHA256()))).decode())
                """, input: Data((timestamp + body).utf8)), as: UTF8.self)
            let headers: HTTPFields = [field("X-Twilio-Email-Event-Webhook-Signature"): signature, field("X-Twilio-Email-Event-Webhook-Timestamp"): timestamp]
            let answer = try await post(client, "/v1/inbound/sendgrid", body: body, headers: headers)
            #expect(answer.status == .ok, "\(answer.text)")
            #expect(try await fixture.store.message(id: message.id)?.delivery == "bounced")
            #expect(try await fixture.store.suppressions(address: "ana@fernhill.example")[.email] == Suppression(.all, reason: "hard bounce"))
            #expect(try await fixture.store.suppressions(address: "ben@fernhill.example").isEmpty)
            #expect(try await post(client, "/v1/inbound/sendgrid", body: body, headers: headers).json["replayed"] as? Bool == true)
        }
    }

    static func pythonLiteral(_ text: String) -> String {
        "'" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "'", with: "\\'").replacingOccurrences(of: "\n", with: "\\n") + "'"
    }

    // MARK: - Mailgun

    /// The envelope of https://documentation.mailgun.com/docs/mailgun/user-manual/tracking-messages/
    /// (`signature` + `event-data`), signed with Python's `hmac` as Mailgun's own sample does.
    @Test func mailgunFailuresAreVerifiedAndATokenAppliesOnce() async throws {
        let fixture = try ServerFixture { settings in settings.inboundProviders.mailgunSigningKey = SecretValue("key-example-signing-key") }
        try await fixture.test { client in
            let (_, message, _) = try await welcomedLead(fixture, client: client)
            try await fixture.runWorker()
            func envelope(key: String, timestamp: Int, token: String, event: String) throws -> String {
                let signature = String(decoding: try IndependentSigner.python("""
                    import hashlib, hmac, sys
                    print(hmac.new(key=\(Self.pythonLiteral(key)).encode(), msg=sys.stdin.buffer.read(), digestmod=hashlib.sha256).hexdigest(), end="")
                    """, input: Data("\(timestamp)\(token)".utf8)), as: UTF8.self)
                return #"{"signature": {"timestamp": "\#(timestamp)", "token": "\#(token)", "signature": "\#(signature)"}, "event-data": \#(event)}"#
            }
            let now = Int(fixture.now.timeIntervalSince1970)
            let failed = #"{"event": "failed", "severity": "permanent", "reason": "bounce", "recipient": "ana@fernhill.example", "timestamp": \#(now).5, "delivery-status": {"code": 550, "description": "No such mailbox"}, "user-variables": {"nurture_message_id": "\#(message.id)"}}"#
            let forged = try envelope(key: "another-key", timestamp: now, token: "a8ce0edb2dd8301dee6c2405235584e45aa91d1e9f979f3de0", event: failed)
            #expect(try await post(client, "/v1/inbound/mailgun", body: forged, headers: [:]).status == .unauthorized)
            let stale = try envelope(key: "key-example-signing-key", timestamp: now - 3600, token: "b8ce0edb2dd8301dee6c2405235584e45aa91d1e9f979f3de0", event: failed)
            #expect(try await post(client, "/v1/inbound/mailgun", body: stale, headers: [:]).status == .unauthorized)
            #expect(try await fixture.store.suppressions(address: "ana@fernhill.example").isEmpty)
            // Mailgun's own retries (a temporary failure each) are not bounces of ours.
            let temporary = try envelope(key: "key-example-signing-key", timestamp: now, token: "e8ce0edb2dd8301dee6c2405235584e45aa91d1e9f979f3de0",
                                         event: failed.replacingOccurrences(of: "permanent", with: "temporary"))
            #expect(try await post(client, "/v1/inbound/mailgun", body: temporary, headers: [:]).status == .ok)
            #expect(try await fixture.store.suppressions(address: "ana@fernhill.example").isEmpty)
            let valid = try envelope(key: "key-example-signing-key", timestamp: now, token: "c8ce0edb2dd8301dee6c2405235584e45aa91d1e9f979f3de0", event: failed)
            let changedToken = valid.replacingOccurrences(of: "c8ce0edb2dd8301dee6c2405235584e45aa91d1e9f979f3de0", with: "d8ce0edb2dd8301dee6c2405235584e45aa91d1e9f979f3de0")
            #expect(try await post(client, "/v1/inbound/mailgun", body: changedToken, headers: [:]).status == .unauthorized)
            let changed = valid.replacingOccurrences(of: "permanent", with: "temporary")
            // The event is not signed by Mailgun, only timestamp and token: the token applies once.
            let first = try await post(client, "/v1/inbound/mailgun", body: valid, headers: [:])
            #expect(first.status == .ok, "\(first.text)")
            #expect(try await fixture.store.suppressions(address: "ana@fernhill.example")[.email] == Suppression(.all, reason: "hard bounce"))
            // A spent token carries nothing more, not even a different event.
            let replay = try await post(client, "/v1/inbound/mailgun", body: changed, headers: [:])
            #expect(replay.status == .unauthorized && replay.text.contains("already used"))
            #expect(try await fixture.store.message(id: message.id)?.delivery == "bounced")
        }
    }

    // MARK: - Twilio

    /// The worked example of https://www.twilio.com/docs/usage/webhooks/webhooks-security.
    @Test func twilioSignaturesMatchTheDocumentedExample() {
        let fields = [("CallSid", "CA1234567890ABCDE"), ("Caller", "+12349013030"), ("Digits", "1234"), ("From", "+12349013030"), ("To", "+18005551212")]
        #expect(TwilioSignature.sign(url: "https://mycompany.com/myapp.php?foo=1&bar=2", fields: fields.shuffled(), token: "12345") == "0/KCTR6DLpKmkAf8muzZqo1nDgQ=")
    }

    /// An incoming STOP and a status callback (https://www.twilio.com/docs/messaging/guides/webhook-request),
    /// signed with Python's `hmac` over `public_url` + path + query + the sorted form fields.
    @Test func twilioRepliesAndStatusCallbacksAreVerifiedAndApplied() async throws {
        let fixture = try ServerFixture { settings in
            settings.inboundProviders.twilioToken = SecretValue("tw-auth-token")
            settings.publicURL = "https://nurture.example"
        }
        try await fixture.test { client in
            let (_, message, _) = try await welcomedLead(fixture, client: client, phone: true)
            func signed(_ path: String, _ fields: [(String, String)], token: String = "tw-auth-token") throws -> (String, HTTPFields) {
                let form = fields.map { "\($0.0)=\($0.1.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")" }.joined(separator: "&")
                let data = "https://nurture.example\(path)" + fields.sorted { $0.0 < $1.0 }.map { $0.0 + $0.1 }.joined()
                let signature = String(decoding: try IndependentSigner.python("""
                    import base64, hashlib, hmac, sys
                    print(base64.b64encode(hmac.new(\(Self.pythonLiteral(token)).encode(), sys.stdin.buffer.read(), hashlib.sha1).digest()).decode(), end="")
                    """, input: Data(data.utf8)), as: UTF8.self)
                return (form, [field("X-Twilio-Signature"): signature])
            }
            let stop = [("MessageSid", "SM1"), ("AccountSid", "AC1"), ("From", "+351912345678"), ("To", "+441615550100"), ("Body", "STOP")]
            let (forgedForm, forged) = try signed("/v1/inbound/twilio", stop, token: "wrong")
            #expect(try await post(client, "/v1/inbound/twilio", body: forgedForm, headers: forged, contentType: "application/x-www-form-urlencoded").status == .unauthorized)
            #expect(try await fixture.store.suppressions(address: "+351912345678").isEmpty)
            let (form, headers) = try signed("/v1/inbound/twilio", stop)
            let answer = try await post(client, "/v1/inbound/twilio", body: form, headers: headers, contentType: "application/x-www-form-urlencoded")
            #expect(answer.status == .ok && answer.text.contains("<Response></Response>"))
            #expect(try await fixture.store.suppressions(address: "+351912345678")[.sms] == Suppression(.all, reason: "SMS STOP"))
            // Twilio retrying the same message (same MessageSid) changes nothing: one STOP, one confirmation.
            #expect(try await post(client, "/v1/inbound/twilio", body: form, headers: headers, contentType: "application/x-www-form-urlencoded").status == .ok)
            let stops = try await fixture.store.messages(status: .pending, limit: 50).filter { $0.stepID == "stop-confirmation" }
            #expect(stops.count == 1)
            // A changed byte (another body) under the same signature is refused.
            let tampered = form.replacingOccurrences(of: "STOP", with: "START")
            #expect(try await post(client, "/v1/inbound/twilio", body: tampered, headers: headers, contentType: "application/x-www-form-urlencoded").status == .unauthorized)
            // A status callback names our message in its URL's query.
            let status = [("MessageSid", "SM2"), ("MessageStatus", "delivered"), ("To", "+351912345678"), ("From", "+441615550100")]
            let path = "/v1/inbound/twilio?message_id=\(message.id)"
            let (statusForm, statusHeaders) = try signed(path, status)
            let delivered = try await post(client, path, body: statusForm, headers: statusHeaders, contentType: "application/x-www-form-urlencoded")
            #expect(delivered.status == .ok)
            #expect(try await fixture.store.message(id: message.id)?.delivery == "delivered")
        }
    }

    // MARK: - Telnyx

    /// `message.received` (https://developers.telnyx.com/docs/messaging/messages/receiving-webhooks),
    /// signed with an Ed25519 key Python's `cryptography` made, over `timestamp|body`.
    @Test func telnyxRepliesAreVerifiedWithEd25519() async throws {
        let keys = try JSONSerialization.jsonObject(with: IndependentSigner.python("""
            import base64, json
            from cryptography.hazmat.primitives.asymmetric import ed25519
            from cryptography.hazmat.primitives import serialization
            key = ed25519.Ed25519PrivateKey.generate()
            raw = key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption())
            public = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
            print(json.dumps({"public": base64.b64encode(public).decode(), "private": base64.b64encode(raw).decode()}))
            """)) as! [String: String]
        let fixture = try ServerFixture { settings in settings.inboundProviders.telnyxPublicKey = keys["public"] }
        try await fixture.test { client in
            _ = try await welcomedLead(fixture, client: client, phone: true)
            let timestamp = "\(Int(fixture.now.timeIntervalSince1970))"
            let body = #"{"data": {"record_type": "event", "id": "b301ed3f-1490-491f-995f-6e64e69674d4", "event_type": "message.received", "occurred_at": "2026-11-23T09:00:00.000+00:00", "payload": {"id": "m1", "direction": "inbound", "from": {"phone_number": "+351912345678"}, "to": [{"phone_number": "+15551234567"}], "text": "stop"}}, "meta": {"attempt": 1}}"#
            let signature = String(decoding: try IndependentSigner.python("""
                import base64, sys
                from cryptography.hazmat.primitives.asymmetric import ed25519
                key = ed25519.Ed25519PrivateKey.from_private_bytes(base64.b64decode(\(Self.pythonLiteral(keys["private"]!))))
                print(base64.b64encode(key.sign(sys.stdin.buffer.read())).decode(), end="")
                """, input: Data("\(timestamp)|\(body)".utf8)), as: UTF8.self)
            let headers: HTTPFields = [field("telnyx-signature-ed25519"): signature, field("telnyx-timestamp"): timestamp]
            #expect(try await post(client, "/v1/inbound/telnyx", body: body.replacingOccurrences(of: "stop", with: "STOP"), headers: headers).status == .unauthorized)
            // Signed by another key, or signed properly but an hour old: refused.
            let other = String(decoding: try IndependentSigner.python("""
                import base64, sys
                from cryptography.hazmat.primitives.asymmetric import ed25519
                print(base64.b64encode(ed25519.Ed25519PrivateKey.generate().sign(sys.stdin.buffer.read())).decode(), end="")
                """, input: Data("\(timestamp)|\(body)".utf8)), as: UTF8.self)
            #expect(try await post(client, "/v1/inbound/telnyx", body: body, headers: [field("telnyx-signature-ed25519"): other, field("telnyx-timestamp"): timestamp]).status == .unauthorized)
            let old = "\(Int(fixture.now.timeIntervalSince1970) - 3600)"
            let oldSignature = String(decoding: try IndependentSigner.python("""
                import base64, sys
                from cryptography.hazmat.primitives.asymmetric import ed25519
                key = ed25519.Ed25519PrivateKey.from_private_bytes(base64.b64decode(\(Self.pythonLiteral(keys["private"]!))))
                print(base64.b64encode(key.sign(sys.stdin.buffer.read())).decode(), end="")
                """, input: Data("\(old)|\(body)".utf8)), as: UTF8.self)
            #expect(try await post(client, "/v1/inbound/telnyx", body: body, headers: [field("telnyx-signature-ed25519"): oldSignature, field("telnyx-timestamp"): old]).status == .unauthorized)
            #expect(try await fixture.store.suppressions(address: "+351912345678").isEmpty)
            let answer = try await post(client, "/v1/inbound/telnyx", body: body, headers: headers)
            #expect(answer.status == .ok, "\(answer.text)")
            #expect(try await fixture.store.suppressions(address: "+351912345678")[.sms] == Suppression(.all, reason: "SMS STOP"))
            #expect(try await post(client, "/v1/inbound/telnyx", body: body, headers: headers).json["replayed"] as? Bool == true)
        }
    }
}

/// SES through SNS, with a throwaway certificate and key made by Python's `cryptography` standing
/// in for Amazon's (the route never fetches it from the network here: `fetchSNS` serves it).
struct SESInboundTests {
    static let topic = "arn:aws:sns:us-west-2:123456789012:nurture-ses"
    static let certificateURL = "https://sns.us-west-2.amazonaws.com/SimpleNotificationService-f3ecfb7224c7233fe7bb5f59f96de52f.pem"

    struct Authority {
        let certificate: String
        let key: String

        init() throws {
            let made = try JSONSerialization.jsonObject(with: IndependentSigner.python("""
                import datetime, json
                from cryptography import x509
                from cryptography.x509.oid import NameOID
                from cryptography.hazmat.primitives import hashes, serialization
                from cryptography.hazmat.primitives.asymmetric import rsa
                key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
                name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.amazonaws.com")])
                now = datetime.datetime.now(datetime.timezone.utc)
                cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                        .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
                        .not_valid_after(now + datetime.timedelta(days=30)).sign(key, hashes.SHA256()))
                print(json.dumps({"certificate": cert.public_bytes(serialization.Encoding.PEM).decode(),
                                  "key": key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()}))
                """)) as! [String: String]
            certificate = made["certificate"]!
            key = made["key"]!
        }

        /// The SNS envelope with `fields`, signed as SNS documents it for `version` ("1" SHA1, "2" SHA256).
        func envelope(_ fields: [String: String], version: String = "2", certificateURL: String = SESInboundTests.certificateURL) throws -> String {
            let order = fields["Type"] == "Notification" ? ["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"]
                : ["Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"]
            let signed = order.compactMap { name in fields[name].map { "\(name)\n\($0)\n" } }.joined()
            let signature = String(decoding: try IndependentSigner.python("""
                import base64, sys
                from cryptography.hazmat.primitives import hashes, serialization
                from cryptography.hazmat.primitives.asymmetric import padding
                key = serialization.load_pem_private_key(\(ProviderInboundTests.pythonLiteral(key)).encode(), password=None)
                digest = hashes.SHA1() if \(version == "1" ? "True" : "False") else hashes.SHA256()
                print(base64.b64encode(key.sign(sys.stdin.buffer.read(), padding.PKCS1v15(), digest)).decode(), end="")
                """, input: Data(signed.utf8)), as: UTF8.self)
            var all = fields
            all["SignatureVersion"] = version
            all["Signature"] = signature
            all["SigningCertURL"] = certificateURL
            return String(decoding: try JSONSerialization.data(withJSONObject: all), as: UTF8.self)
        }
    }

    final class Fetched: Sendable {
        let urls = Mutex<[URL]>([])
    }

    @Test func snsSignedSESEventsAreVerifiedAgainstTheSigningCertificate() async throws {
        let authority = try Authority()
        let fetched = Fetched()
        let certificate = authority.certificate
        let fixture = try ServerFixture { settings in
            settings.inboundProviders.sesTopicARNs = [Self.topic]
            settings.fetchSNS = { url in
                fetched.urls.withLock { $0.append(url) }
                return url.absoluteString == Self.certificateURL ? Data(certificate.utf8) : Data()
            }
        }
        let iso = { @Sendable (date: Date) in
            let formatter = ISO8601DateFormatter()
            formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
            return formatter.string(from: date)
        }
        try await fixture.test { client in
            let (_, message, _) = try await welcomedLead(fixture, client: client)
            try await fixture.runWorker()
            let post = { (body: String) in try await ProviderInboundTests().post(client, "/v1/inbound/ses", body: body, headers: [:], contentType: "text/plain; charset=UTF-8") }
            // The subscription is confirmed by fetching its SubscribeURL.
            let subscribe = "https://sns.us-west-2.amazonaws.com/?Action=ConfirmSubscription&TopicArn=\(Self.topic)&Token=2336412f37"
            let confirmation = try authority.envelope([
                "Type": "SubscriptionConfirmation", "MessageId": "165545c9-2a5c-472c-8df2-7ff2be2b3b1b", "Token": "2336412f37",
                "TopicArn": Self.topic, "Message": "You have chosen to subscribe to the topic \(Self.topic).", "SubscribeURL": subscribe,
                "Timestamp": iso(fixture.now),
            ], version: "1")
            #expect(try await post(confirmation).status == .ok)
            #expect(fetched.urls.withLock { $0.map(\.absoluteString) }.contains(subscribe))
            // A permanent bounce of our message (the SES Bounce record's shape, tags as EmailTags set them).
            let event = #"{"eventType":"Bounce","bounce":{"bounceType":"Permanent","bounceSubType":"General","bouncedRecipients":[{"emailAddress":"ana@fernhill.example","action":"failed","status":"5.1.1","diagnosticCode":"smtp; 550 5.1.1 user unknown"}],"timestamp":"2017-08-05T00:41:02.669Z","feedbackId":"01000157c44f053b"},"mail":{"timestamp":"2017-08-05T00:40:02.012Z","source":"Sender Name <sender@example.com>","messageId":"EXAMPLE7c191be45","destination":["ana@fernhill.example"],"tags":{"nurture_message_id":["\#(message.id)"],"ses:configuration-set":["ConfigSet"]}}}"#
            let notification: [String: String] = ["Type": "Notification", "MessageId": "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324", "TopicArn": Self.topic,
                                                  "Message": event, "Timestamp": iso(fixture.now)]
            let foreignTopic = try authority.envelope(notification.merging(["TopicArn": "arn:aws:sns:us-west-2:123456789012:other"]) { $1 })
            #expect(try await post(foreignTopic).status == .unauthorized)
            let foreignCertificate = try authority.envelope(notification, certificateURL: "https://sns.us-west-2.amazonaws.com.evil.example/cert.pem")
            #expect(try await post(foreignCertificate).status == .unauthorized)
            // Only the SNS host of the topic's region, only its certificate paths.
            for url in ["http://sns.us-west-2.amazonaws.com/SimpleNotificationService-f3ecfb.pem",
                        "https://sns.s3.amazonaws.com/SimpleNotificationService-f3ecfb.pem",
                        "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-f3ecfb.pem",
                        "https://sns.us-west-2.amazonaws.com/SimpleNotificationService-f3ecfb.pem?x=1",
                        "https://sns.us-west-2.amazonaws.com@evil.example/SimpleNotificationService-f3ecfb.pem",
                        "https://sns.us-west-2.amazonaws.com/bucket/cert.pem"] {
                #expect(try await post(try authority.envelope(notification, certificateURL: url)).status == .unauthorized, "\(url)")
            }
            let signed = try authority.envelope(notification)
            // Signed by another key than the certificate's: refused.
            let impostor = try Authority().envelope(notification)
            #expect(try await post(impostor).status == .unauthorized)
            let changed = signed.replacingOccurrences(of: "Permanent", with: "Transient")
            #expect(try await post(changed).status == .unauthorized)
            let stale = try authority.envelope(notification.merging(["Timestamp": iso(fixture.now.addingTimeInterval(-7200))]) { $1 })
            #expect(try await post(stale).status == .unauthorized)
            #expect(try await fixture.store.suppressions(address: "ana@fernhill.example").isEmpty)
            let answer = try await post(signed)
            #expect(answer.status == .ok, "\(answer.text)")
            #expect(try await fixture.store.suppressions(address: "ana@fernhill.example")[.email] == Suppression(.all, reason: "hard bounce"))
            #expect(try await fixture.store.message(id: message.id)?.delivery == "bounced")
            #expect(try await post(signed).json["replayed"] as? Bool == true)
            // The certificate was fetched once, then served from the cache.
            #expect(fetched.urls.withLock { $0.filter { $0.absoluteString == Self.certificateURL }.count } == 1)
        }
    }
}
