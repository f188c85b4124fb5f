import Crypto
public import Foundation
public import NurtureDSL
public import NurtureStorage

extension OutboxMessage {
    /// `msg_` and 24 hex digits of SHA-256 over what identifies one send of one step.
    public static func id(leadID: String, campaignID: String, enrollment: Int, stepID: String, occurrence: Int) -> String {
        let digest = SHA256.hash(data: Data("\(leadID)\u{1F}\(campaignID)\u{1F}\(enrollment)\u{1F}\(stepID)\u{1F}\(occurrence)".utf8))
        let hex = Array("0123456789abcdef".utf8)
        var text: [UInt8] = Array("msg_".utf8)
        for byte in digest.prefix(12) { text.append(contentsOf: [hex[Int(byte >> 4)], hex[Int(byte & 0xF)]]) }
        return String(decoding: text, as: UTF8.self)
    }
}

extension OutboxMessage {
    /// A labelled message for `nurture channels test`, outside every campaign and lead: it checks
    /// a channel's settings and credentials, nothing about the playbook.
    public static func channelTest(_ channel: MessageChannel, to address: String, brand: Brand, now: Date) -> OutboxMessage {
        let id = "msg_test_" + String(UInt64.random(in: 0...UInt64.max), radix: 16)
        let text = "This is a test from Nurture, sent by `nurture channels test` to check the \(channel.rawValue) channel of \(brand.name). Nothing else will follow."
        var body = WebhookBody(id: id, channel: channel.rawValue, to: address, lead_id: "", campaign: systemCampaign, step: "channel-test", variant: nil)
        if channel == .email {
            body.subject = "[Nurture test] \(brand.name): the email channel works"
            body.text = text
            body.html = "<p>" + text.replacingOccurrences(of: "`", with: "") + "</p>"
        } else {
            body.body = text.replacingOccurrences(of: "`", with: "")
        }
        return OutboxMessage(id: id, leadID: "", campaignID: systemCampaign, stepID: "channel-test", channel: channel, address: address, variant: nil,
                             subject: body.subject, preview: body.text ?? body.body ?? "", payload: body.json(), isTransactional: true, createdAt: now)
    }
}

/// The JSON a webhook channel receives, as DESIGN.md specifies it. Written by hand: the shape
/// is fixed and every value is a string, and this runs once per message on the hot path.
struct WebhookBody: Decodable {
    var id: String
    var channel: String
    var to: String
    var subject: String?
    var html: String?
    var text: String?
    var body: String?
    var headers: [String: String]?
    var lead_id: String
    var campaign: String
    var step: String
    var variant: String?

    /// Keys in sorted order, so equal messages are equal bytes.
    func json() -> String {
        var out = [UInt8]()
        out.reserveCapacity(256 + (html?.utf8.count ?? 0) + (text?.utf8.count ?? 0) * 2 + (body?.utf8.count ?? 0))
        out.append(UInt8(ascii: "{"))
        var first = true
        func key(_ name: StaticString) {
            if !first { out.append(UInt8(ascii: ",")) }
            first = false
            out.append(UInt8(ascii: "\""))
            out.append(contentsOf: UnsafeBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount))
            out.append(contentsOf: [UInt8(ascii: "\""), UInt8(ascii: ":")])
        }
        func field(_ name: StaticString, _ value: String?) {
            guard let value else { return }
            key(name)
            JSONString.append(value, to: &out)
        }
        field("body", body)
        field("campaign", campaign)
        field("channel", channel)
        if let headers {
            key("headers")
            out.append(UInt8(ascii: "{"))
            for (index, name) in headers.keys.sorted().enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                JSONString.append(name, to: &out)
                out.append(UInt8(ascii: ":"))
                JSONString.append(headers[name]!, to: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
        field("html", html)
        field("id", id)
        field("lead_id", lead_id)
        field("step", step)
        field("subject", subject)
        field("text", text)
        field("to", to)
        field("variant", variant)
        out.append(UInt8(ascii: "}"))
        return String(decoding: out, as: UTF8.self)
    }

}

/// JSON string literals, written directly: Nurture writes one for every stored attribute map and
/// every message on its hot paths, where JSONEncoder costs more than the work around it.
