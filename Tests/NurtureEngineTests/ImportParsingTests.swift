import Campaigns
import Foundation
import NurtureDSL
import NurtureEngine
import Testing

struct CSVReaderTests {
    func records(_ text: String, chunkSize: Int = 1 << 20) throws -> [CSVReader.Record] {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("csv-\(UUID().uuidString).csv").path
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        let reader = try CSVReader(path: path, chunkSize: chunkSize)
        var all: [CSVReader.Record] = []
        while let record = try reader.next() { all.append(record) }
        return all
    }

    @Test func handlesBOMQuotesCommasNewlinesAndCRLF() throws {
        let text = "\u{FEFF}email,note\r\n\"a@x.io\",\"says \"\"hi\"\", then, commas\"\r\nb@x.io,\"two\r\nlines\"\r\n\r\nc@x.io,plain\r\n"
        let parsed = try records(text)
        #expect(parsed.map(\.fields) == [["email", "note"], ["a@x.io", "says \"hi\", then, commas"], ["b@x.io", "two\r\nlines"], ["c@x.io", "plain"]])
        // Line numbers are physical lines: the quoted newline moves the next record down one.
        #expect(parsed.map(\.line) == [1, 2, 3, 6])
    }

    @Test func recordsSplitAcrossChunksComeOutWhole() throws {
        var text = "email,name\n"
        for n in 0..<500 { text += "lead\(n)@example.com,\"Name, \(n)\"\n" }
        let small = try records(text, chunkSize: 7)
        #expect(small.count == 501)
        #expect(small[500].fields == ["lead499@example.com", "Name, 499"])
        #expect(try records(text) == small)
    }

    @Test func aFileWithoutAFinalNewlineKeepsItsLastRecord() throws {
        #expect(try records("email\na@x.io").map(\.fields) == [["email"], ["a@x.io"]])
        #expect(try records("email,x\na@x.io,\"\"").map(\.fields) == [["email", "x"], ["a@x.io", ""]])
    }

    @Test func anUnclosedQuoteIsAnErrorNamingTheLineThatOpenedIt() throws {
        #expect(throws: CSVReader.UnclosedQuote.self) { try records("email,note\na@x.io,\"never closed\n") }
        do {
            _ = try records("email,note\na@x.io,ok\nb@x.io,\"opens here\nc@x.io,swallowed\nd@x.io,too\n")
            Issue.record("an unclosed quote must not read as a whole file")
        } catch let error as CSVReader.UnclosedQuote {
            #expect(error.line == 3)
            #expect("\(error)" == "line 3: a quoted field opened on this line is never closed")
        }
    }

    /// Classic Mac exports end records with a bare CR; some tools mix CR, LF and CRLF in a file.
    @Test func bareCRAndMixedLineEndsEndRecordsOutsideQuotes() throws {
        let mac = try records("email,first_name,timezone\ra1@example.com,A,UTC\ra2@example.com,B,UTC\r")
        #expect(mac.map(\.fields) == [["email", "first_name", "timezone"], ["a1@example.com", "A", "UTC"], ["a2@example.com", "B", "UTC"]])
        #expect(mac.map(\.line) == [1, 2, 3])
        let mixed = try records("email,note\ra@x.io,one\nb@x.io,\"two\rlines\"\r\nc@x.io,three\r\rd@x.io,four")
        #expect(mixed.map(\.fields) == [["email", "note"], ["a@x.io", "one"], ["b@x.io", "two\rlines"], ["c@x.io", "three"], ["d@x.io", "four"]])
        // CRLF is one line end, a bare CR is one, and the blank line between c and d counts.
        #expect(mixed.map(\.line) == [1, 2, 3, 5, 7])
        // The same split at every byte: a CR at the end of a chunk and its LF in the next are one line end.
        #expect(try records("email,note\ra@x.io,one\nb@x.io,\"two\rlines\"\r\nc@x.io,three\r\rd@x.io,four", chunkSize: 1) == mixed)
    }

    @Test func theWriterQuotesAndDefusesFormulas() {
        #expect(CSVWriter.cell("=HYPERLINK(\"http://x\")") == "\"'=HYPERLINK(\"\"http://x\"\")\"")
        #expect(CSVWriter.cell("+44 20") == "'+44 20")
        #expect(CSVWriter.cell("plain") == "plain")
        #expect(CSVWriter.cell("a,b") == "\"a,b\"")
    }
}

struct PhoneNumberTests {
    @Test(arguments: [
        ("+351 912 345 678", nil, "+351912345678"),
        ("+44 (0)20 7946 0958", nil, "+442079460958"),
        ("0044 20 7946 0958", nil, "+442079460958"),
        ("020 7946 0958", "GB", "+442079460958"),
        ("(212) 555-0143", "US", "+12125550143"),
        ("07700 900456", "gb", "+447700900456"),
    ] as [(String, String?, String)])
    func normalisesToE164(raw: String, country: String?, expected: String) throws {
        #expect(try PhoneNumber.e164(raw, defaultCountry: country) == expected)
    }

    @Test(arguments: [
        ("020 7946 0958", nil, "'020 7946 0958' has no country code, and the row has no country or time zone to take one from: write it as +<country code>…, or pass --default-country"),
        ("+44 20 call me", nil, "'+44 20 call me' has a character that is not part of a phone number"),
        ("+12", nil, "'+12' is not a valid international number (E.164 has 8 to 15 digits)"),
        ("0123", "XX", "unknown default country 'XX'"),
    ] as [(String, String?, String)])
    func rejectsWithTheReason(raw: String, country: String?, reason: String) {
        do {
            _ = try PhoneNumber.e164(raw, defaultCountry: country)
            Issue.record("expected \(raw) to be rejected")
        } catch {
            #expect(error.description == reason)
        }
    }
}

struct LeadRowParserTests {
    let parser: LeadRowParser

    init() throws {
        parser = try LeadRowParser(
            header: ["E-mail", "First Name", "phone", "timezone", "company_size", "nps", "sms_consent", "favourite_colour"],
            playbook: Campaigns.playbook, defaultCountry: "PT", source: "webinar")
    }

    @Test func mapsKnownColumnsAndTypesAttributes() throws {
        let row = try parser.patch(from: ["  Ana@Example.COM ", "Ana", "912 345 678", "Europe/Lisbon", "1,200", "9", "yes", "teal"]).get()
        #expect(row.warnings.isEmpty)
        let patch = row.patch
        #expect(patch.email == "ana@example.com")
        #expect(patch.firstName == "Ana")
        #expect(patch.phone == "+351912345678")
        #expect(patch.timeZone == "Europe/Lisbon")
        #expect(patch.companySize == 1200)
        #expect(patch.attributes == ["nps": .number(9), "favourite_colour": "teal"])
        #expect(patch.smsConsent == true)
        #expect(patch.source == "webinar")
    }

    /// Only a row's identity rejects it.
    @Test(arguments: [
        (["not-an-email", "", "", "", "", "", "", ""], "email: 'not-an-email' is not an email address"),
        (["", "", "", "", "", "", "", ""], "email: is empty"),
        (["a@b.io", "x"], "row: has 2 fields, the header has 8"),
        (["a\u{0}@b.io", "", "", "", "", "", "", ""], "e_mail: contains the control character U+0000 (NUL) at character 2"),
    ])
    func rejectsRowsWithoutAUsableIdentity(fields: [String], reason: String) {
        guard case .failure(let rejection) = parser.patch(from: fields) else {
            Issue.record("expected a rejection")
            return
        }
        #expect(rejection.description == reason)
    }

    /// A bad optional field costs that field: the lead is kept with its email and name, and the
    /// warning says which column and why.
    @Test(arguments: [
        (["a@b.io", "Ana", "", "Mars/Olympus", "", "", "", ""], 4, "timezone: 'Mars/Olympus' is not an IANA time zone (such as Europe/Lisbon); imported without it"),
        (["a@b.io", "Ana", "", "", "lots", "", "", ""], 5, "company_size: 'lots' is not a whole number; imported without it"),
        (["a@b.io", "Ana", "", "", "", "ten", "", ""], 6, "nps: 'ten' is not a number; imported without it"),
        (["a@b.io", "Ana", "", "", "", "", "perhaps", ""], 7, "sms_consent: 'perhaps' is not yes or no; imported without it"),
        (["a@b.io", "Ana", "+1 call", "", "", "", "", ""], 3, "phone: '+1 call' has a character that is not part of a phone number; imported without it"),
        // SQLite would have cut these at the NUL: "Ana\u{0}Evil" stored as "Ana".
        (["a@b.io", "Ana", "", "", "", "", "", "te\u{1B}[31mal"], 8, "favourite_colour: contains the control character U+001B (escape) at character 3; imported without it"),
        (["a@b.io", "Ana", "", "", "", "", "", "t\u{0}"], 8, "favourite_colour: contains the control character U+0000 (NUL) at character 2; imported without it"),
    ])
    func keepsTheLeadWithoutABadOptionalField(fields: [String], column: Int, warning: String) throws {
        let row = try parser.patch(from: fields).get()
        #expect(row.patch.email == "a@b.io")
        #expect(row.patch.firstName == "Ana")
        #expect(row.warnings.map(\.column) == [column])
        #expect(row.warnings.map(\.description) == [warning])
    }

    @Test func aControlCharacterInANameCostsTheName() throws {
        let row = try parser.patch(from: ["a@b.io", "Ana\u{0}Evil", "", "", "", "", "", ""]).get()
        #expect(row.patch.firstName == nil)
        #expect(row.warnings.map(\.description) == ["first_name: contains the control character U+0000 (NUL) at character 4; imported without it"])
    }

    /// A phone written without a country code takes the row's country, else its zone's, else
    /// the import's default.
    @Test func aPhoneWithoutACountryCodeTakesItFromTheRow() throws {
        let noDefault = try LeadRowParser(header: ["email", "phone", "country", "timezone"], playbook: Campaigns.playbook, defaultCountry: nil, source: nil)
        #expect(try noDefault.patch(from: ["a@b.io", "415-555-0101", "", "America/Los_Angeles"]).get().patch.phone == "+14155550101")
        #expect(try noDefault.patch(from: ["a@b.io", "415-555-0101", "us", ""]).get().patch.phone == "+14155550101")
        #expect(try noDefault.patch(from: ["a@b.io", "020 7946 0958", "GB", "America/New_York"]).get().patch.phone == "+442079460958")
        let lost = try noDefault.patch(from: ["a@b.io", "415-555-0101", "", ""]).get()
        #expect(lost.patch.phone == nil)
        #expect(lost.warnings.first?.description.contains("has no country code, and the row has no country or time zone to take one from") == true)
        let withDefault = try LeadRowParser(header: ["email", "phone"], playbook: Campaigns.playbook, defaultCountry: "GB", source: nil)
        #expect(try withDefault.patch(from: ["a@b.io", "020 7946 0958"]).get().patch.phone == "+442079460958")
    }

    /// Countries are written as exports write them; tzdata's iso3166.tab names them.
    @Test func aCountryIsKeptAsItsISOCode() throws {
        let parser = try LeadRowParser(header: ["email", "country"], playbook: Campaigns.playbook, defaultCountry: nil, source: nil)
        for (written, code) in [("de", "DE"), ("Germany", "DE"), ("United Kingdom", "GB"), ("UK", "GB"), ("United States", "US"), ("usa", "US"),
                                ("Korea (South)", "KR"), ("Britain", "GB"), ("us", "US"), ("Virgin Islands (US)", "VI")] {
            #expect(try parser.patch(from: ["a@b.io", written]).get().patch.country == code, "\(written)")
        }
        let atlantis = try parser.patch(from: ["a@b.io", "Atlantis"]).get()
        #expect(atlantis.patch.country == nil)
        #expect(atlantis.warnings.map(\.description) == [
            "country: 'Atlantis' is not a country (an ISO 3166 code such as DE, or a name such as Germany); imported without it"])
    }

    /// A string attribute is free text: tabs and line breaks are kept, nothing else.
    @Test func freeTextAttributesKeepTabsAndLineBreaks() throws {
        let patch = try parser.patch(from: ["a@b.io", "", "", "", "", "", "", "teal\tand\r\ngrey"]).get().patch
        #expect(patch.attributes["favourite_colour"] == "teal\tand\r\ngrey")
    }

    @Test func aControlCharacterInAHeaderNameIsRefused() {
        #expect(throws: LeadRowParser.HeaderProblem.self) {
            try LeadRowParser(header: ["email", "na\u{0}me"], playbook: Campaigns.playbook, defaultCountry: nil, source: nil)
        }
    }

    /// Foundation's list on Linux has only the old alias Asia/Calcutta; tzdata has both.
    @Test func everyZoneInTzdatasZone1970TableAndItsAliasesAreAccepted() throws {
        let zones = try TimeZoneNames.zone1970()
        #expect(zones.count >= 300)
        #expect(zones.contains("Asia/Kolkata"))
        let header = ["email", "timezone"]
        let parser = try LeadRowParser(header: header, playbook: Campaigns.playbook, defaultCountry: nil, source: nil)
        let refused = (zones + ["Asia/Calcutta", "US/Eastern", "UTC", "Etc/GMT+5"]).filter { zone in
            guard case .success(let row) = parser.patch(from: ["a@b.io", zone]) else { return true }
            return row.patch.timeZone != zone || TimeZone(identifier: zone) == nil
        }
        #expect(refused == [])
        for notAZone in ["Mars/Olympus", "../../etc/passwd", "zone1970.tab", "posix/Europe/Lisbon", "localtime"] {
            #expect(TimeZoneNames.isKnown(notAZone) == false, "\(notAZone)")
        }
    }

    @Test func aHeaderWithoutEmailIsRefused() {
        #expect(throws: LeadRowParser.HeaderProblem.self) {
            try LeadRowParser(header: ["name", "phone"], playbook: Campaigns.playbook, defaultCountry: nil, source: nil)
        }
    }
}

struct WebhookSignatureTests {
    @Test func reproducesThePublishedStandardWebhooksVector() throws {
        let secret = try #require(WebhookSignature.decodeSecret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"))
        let signature = WebhookSignature.sign(id: "msg_p5jXN8AQM9LWM0D4loKWxJek", timestamp: 1_614_265_330,
                                              body: Data(#"{"test": 2432232314}"#.utf8), secret: secret)
        #expect(signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
        // The prefix is optional
        #expect(WebhookSignature.decodeSecret("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw") == secret)
    }

    @Test func verificationChecksSignatureAndAge() throws {
        let secret = Data("0123456789abcdef".utf8), body = Data("{}".utf8)
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let signature = WebhookSignature.sign(id: "msg_1", timestamp: 1_800_000_000, body: body, secret: secret)
        #expect(WebhookSignature.verify(id: "msg_1", timestamp: "1800000000", signatures: "v1,bm9wZQ== " + signature, body: body, secret: secret, now: now))
        #expect(!WebhookSignature.verify(id: "msg_2", timestamp: "1800000000", signatures: signature, body: body, secret: secret, now: now))
        #expect(!WebhookSignature.verify(id: "msg_1", timestamp: "1800000000", signatures: signature, body: Data("{ }".utf8), secret: secret, now: now))
        #expect(!WebhookSignature.verify(id: "msg_1", timestamp: "1800000000", signatures: signature, body: body, secret: secret, now: now.addingTimeInterval(301)))
    }
}

struct RetryPolicyTests {
    let message = OutboxMessage(id: "msg_1", leadID: "l", campaignID: "c", stepID: "s", channel: .email, address: "a@b.io", variant: nil,
                                subject: nil, preview: "", payload: "{}", isTransactional: false, createdAt: Date(timeIntervalSince1970: 0))

    @Test func backoffGrowsExponentiallyWithFullJitter() {
        let policy = RetryPolicy(base: .seconds(30), ceiling: .seconds(3600))
        let now = Date(timeIntervalSince1970: 100)
        // With the largest jitter draw the delay is the cap for that attempt
        for (attempt, cap) in [(1, 30.0), (2, 60), (3, 120), (8, 3600), (20, 3600)] {
            let result = policy.next(after: attempt, of: message, result: .transient("HTTP 503", after: nil), now: now) { $0.upperBound }
            #expect(result == .retry(at: now.addingTimeInterval(cap), error: "HTTP 503"))
        }
        // And the smallest draw never retries in a busy loop
        #expect(policy.next(after: 1, of: message, result: .transient("x", after: nil), now: now) { $0.lowerBound } == .retry(at: now.addingTimeInterval(1), error: "x"))
    }

    @Test func retryAfterIsHonoured() {
        let now = Date(timeIntervalSince1970: 100)
        let result = RetryPolicy().next(after: 1, of: message, result: .transient("HTTP 429", after: .seconds(600)), now: now) { $0.lowerBound }
        #expect(result == .retry(at: now.addingTimeInterval(600), error: "HTTP 429"))
    }

    @Test func permanentFailuresAndTheHorizonMakeDeadLetters() {
        let policy = RetryPolicy(horizon: .seconds(3 * 86_400))
        #expect(policy.next(after: 1, of: message, result: .permanent("HTTP 404"), now: Date()) == .dead(error: "HTTP 404"))
        let late = Date(timeIntervalSince1970: 3 * 86_400 - 10)
        #expect(policy.next(after: 12, of: message, result: .transient("HTTP 503", after: nil), now: late) { $0.upperBound }
            == .dead(error: "HTTP 503 (gave up after 12 attempts)"))
    }

    /// A provider that says "again in 1 s" is asked again in about 1 s, not after a full
    /// exponential jitter of up to 30 s.
    @Test func aShortRetryAfterIsTakenAtItsWord() {
        let now = Date(timeIntervalSince1970: 100)
        let latest = RetryPolicy().next(after: 1, of: message, result: .transient("HTTP 429", after: .seconds(1)), now: now) { $0.upperBound }
        guard case .retry(let at, _) = latest else {
            Issue.record("expected a retry")
            return
        }
        #expect(at.timeIntervalSince(now) >= 1 && at.timeIntervalSince(now) <= 1.25)
    }

    @Test func retryAfterAcceptsHTTPDates() {
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        #expect(WebhookChannel.retryAfter("120", now: now) == .seconds(120))
        #expect(WebhookChannel.retryAfter("Fri, 15 Jan 2027 08:02:00 GMT", now: now) == .seconds(120))
        #expect(WebhookChannel.retryAfter("soon", now: now) == nil)
    }
}

struct ConfigurationTests {
    @Test func readsChannelsLimitsAndSecretsFromTheEnvironment() throws {
        let configuration = try NurtureConfiguration.parse("""
            [channels.email]
            kind = "webhook"
            url = "https://mail.example.com/send"
            secret_env = "MAIL_SECRET"
            timeout_seconds = 2.5
            concurrency = 16
            [channels.sms]
            kind = "webhook"
            url = "https://sms.example.com/send"
            timeout_seconds = 3
            transport = "urlsession"
            [alerts.sales]
            kind = "slack"
            url = "https://hooks.example.com/sales"
            [sending]
            email_per_lead_per_day = 2
            sms_per_lead_per_3_days = 0
            public_url = "https://nurture.example.com"
            [inbound.email]
            secret_env = "MAIL_SECRET"
            [sms]
            help_reply = "Larkspur help: support@larkspur.example"
            [server]
            max_body_bytes = 65536
            """, path: "nurture.toml", environment: ["MAIL_SECRET": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"])
        #expect(configuration.inboundEmailSecret == WebhookSignature.decodeSecret("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"))
        #expect(configuration.inboundSMSSecret == nil)
        #expect(configuration.smsReplies(brand: Campaigns.playbook.brand).help == "Larkspur help: support@larkspur.example")
        #expect(configuration.smsReplies(brand: Campaigns.playbook.brand).stop.hasPrefix("Larkspur: you are unsubscribed"))
        #expect(configuration.maxBodyBytes == 65536)
        #expect(configuration.salesAlerts.kind == .slack)
        #expect(configuration.channel(.sales).url?.absoluteString == "https://hooks.example.com/sales")
        #expect(configuration.email.kind == .webhook)
        #expect(configuration.email.url?.absoluteString == "https://mail.example.com/send")
        #expect(configuration.email.timeout == .milliseconds(2500))
        #expect(configuration.email.concurrency == 16)
        #expect(configuration.email.secret == WebhookSignature.decodeSecret("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"))
        #expect(configuration.sms.kind == .webhook)
        #expect(configuration.sms.timeout == .seconds(3))   // a TOML integer is as good as a float
        #expect(configuration.email.transport == .asyncHTTPClient)   // the measured faster default
        #expect(configuration.sms.transport == .urlSession)
        #expect(configuration.policy.emailCap == SendingPolicy.Cap(2, per: .hours(24)))
        #expect(configuration.policy.smsCap == nil)
        #expect(configuration.publicURL == "https://nurture.example.com")
    }

    @Test(arguments: [
        ("[channels.email]\nkind = \"carrier-pigeon\"", "nurture.toml:2: error: 'channels.email.kind' is 'carrier-pigeon'; use \"preview\", \"webhook\", \"postmark\", \"sendgrid\", \"mailgun\" or \"ses\""),
        ("[channels.email]\nkind = \"webhook\"", "nurture.toml:1: error: 'channels.email.url' must be the http(s) URL of the webhook"),
        ("[channels.sms]\nkind = \"webhook\"\nurl = \"https://sms.example.com\"\nsecret_env = \"NOPE\"", "nurture.toml:4: error: 'channels.sms.secret_env' names NOPE, which is not set"),
        ("[sending]\nemail_per_lead_per_day = \"one\"", "nurture.toml:2: error: 'sending.email_per_lead_per_day' has the wrong type"),
        ("[sending\nx = 1", "nurture.toml:1: error: "),
        ("[alerts.sales]\nkind = \"pager\"", "nurture.toml:2: error: 'alerts.sales.kind' is 'pager'; use \"preview\", \"webhook\" or \"slack\""),
        ("[channels.email]\nkind = \"slack\"", "nurture.toml:2: error: 'channels.email.kind' is 'slack'; use \"preview\", \"webhook\", \"postmark\", \"sendgrid\", \"mailgun\" or \"ses\""),
        ("[alerts.sales]\nkind = \"slack\"", "nurture.toml:1: error: 'alerts.sales.url' must be the http(s) URL of the webhook"),
        ("[inbound.sms]\nsecret_env = \"NOPE\"", "nurture.toml:2: error: 'inbound.sms.secret_env' names NOPE, which is not set"),
        ("[sms]\nstop_reply = \" \"", "nurture.toml:2: error: 'sms.stop_reply' is empty; leave it out to use the default"),
        ("[server]\nmax_body_bytes = 10", "nurture.toml:2: error: 'server.max_body_bytes' must be between 1024 and 67108864"),
        ("[channels.email]\ntransport = \"curl\"", "nurture.toml:2: error: 'channels.email.transport' is 'curl'; use \"async-http-client\" or \"urlsession\""),
    ])
    func mistakesAreReportedPrecisely(text: String, message: String) {
        do {
            _ = try NurtureConfiguration.parse(text, path: "nurture.toml", environment: [:])
            Issue.record("expected an error")
        } catch {
            #expect("\(error)".hasPrefix(message))
        }
    }
}

/// A lead without a zone gets one from its country, else its phone, else the configured default,
/// from tzdata's own tables; the source says how sure it is.
struct ZoneInferenceTests {
    func settled(country: String? = nil, phone: String? = nil, zone: String? = nil, defaultZone: String = "UTC") -> (String, TimeZoneSource) {
        var patch = LeadPatch(email: "a@b.io")
        patch.country = country
        patch.phone = phone
        patch.timeZone = zone
        let lead = patch.newLead(id: "ld_1", zones: ZoneInference(defaultZone: defaultZone))
        return (lead.timeZone, lead.timeZoneSource)
    }

    @Test func aCountryWithOneClockGivesItsZone() {
        #expect(settled(country: "FR") == ("Europe/Paris", .country))
        // Germany lists Büsingen under Europe/Zurich too, but its clocks are Berlin's.
        #expect(settled(country: "DE") == ("Europe/Berlin", .country))
        // Norway's clocks are Berlin's in zone1970.tab; its people call the zone Europe/Oslo (zone.tab).
        #expect(settled(country: "NO") == ("Europe/Oslo", .country))
        #expect(settled(country: "JP") == ("Asia/Tokyo", .country))
    }

    @Test func aCountryWithSeveralClocksGivesAGuessInTheMiddle() {
        // The middle of the United States' zones by offset: Central time, at most two hours off the contiguous states.
        #expect(settled(country: "US") == ("America/Chicago", .countryGuess))
        #expect(settled(country: "AU").1 == .countryGuess)
        // Portugal keeps two clocks (the Azores an hour behind): the mainland's is the middle.
        #expect(settled(country: "PT") == ("Europe/Lisbon", .countryGuess))
        // The configured default wins when it is one of the country's zones.
        #expect(settled(country: "US", defaultZone: "America/Los_Angeles") == ("America/Los_Angeles", .countryGuess))
        #expect(settled(country: "US", defaultZone: "Europe/Lisbon") == ("America/Chicago", .countryGuess))
    }

    @Test func thePhoneNumberAnswersWhenThereIsNoCountry() {
        #expect(settled(phone: "+351912345678") == ("Europe/Lisbon", .phoneGuess))
        #expect(settled(phone: "+33612345678") == ("Europe/Paris", .phone))
        // +1 is shared by the United States and Canada: a guess.
        #expect(settled(phone: "+14155550101") == ("America/Chicago", .phoneGuess))
        // The country outranks the phone.
        #expect(settled(country: "FR", phone: "+4915112345678") == ("Europe/Paris", .country))
    }

    @Test func nothingToGoByGivesTheDefault() {
        #expect(settled() == ("UTC", .fallback))
        #expect(settled(defaultZone: "Europe/Lisbon") == ("Europe/Lisbon", .fallback))
        #expect(settled(phone: "+999123456789", defaultZone: "Asia/Tokyo") == ("Asia/Tokyo", .fallback))
    }

    @Test func aGivenZoneIsKeptAndAnInferredOneFollowsTheLead() {
        #expect(settled(country: "FR", zone: "America/Denver") == ("America/Denver", .given))
        let zones = ZoneInference()
        var patch = LeadPatch(email: "a@b.io")
        patch.country = "FR"
        let lead = patch.newLead(id: "ld_1", zones: zones)
        var moved = LeadPatch(email: "a@b.io")
        moved.country = "JP"
        #expect(zones.settled(moved.applied(to: lead)).timeZone == "Asia/Tokyo")
        var given = LeadPatch(email: "a@b.io")
        given.timeZone = "Europe/Lisbon"
        let pinned = zones.settled(given.applied(to: lead))
        #expect((pinned.timeZone, pinned.timeZoneSource) == ("Europe/Lisbon", .given))
        #expect(zones.settled(moved.applied(to: pinned)).timeZone == "Europe/Lisbon")
    }
}
