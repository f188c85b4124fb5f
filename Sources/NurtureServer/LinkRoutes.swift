import Foundation
import Hummingbird
import NIOCore
import NurtureDSL
import NurtureEngine

/// The links inside messages: the open pixel, tracked clicks and unsubscribe. All carry signed
/// tokens; anything tampered with or foreign is a 404 that records nothing and redirects nowhere.
extension NurtureServer {
    func addLinkRoutes(_ router: Router<BasicRequestContext>) {
        router.get("t/o/:token") { request, context in try await open(request, context) }
        router.get("t/c/:token") { request, context in try await click(request, context) }
        router.get("u/:token") { request, context in try await unsubscribePage(request, context) }
        router.post("u/:token") { request, context in try await unsubscribe(request, context) }
        router.get("p/:token") { request, context in try await preferencesPage(request, context) }
        router.post("p/:token") { request, context in try await choosePreferences(request, context) }
        router.get("s/:token") { request, context in try await surveyPage(request, context) }
        router.post("s/:token") { request, context in try await answerSurvey(request, context) }
    }

    /// A transparent 1×1 GIF (43 bytes).
    static let pixel: [UInt8] = [
        0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0xFF, 0x21, 0xF9, 0x04,
        0x01, 0x00, 0x00, 0x00, 0x00, 0x2C, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x02, 0x02, 0x44, 0x01, 0x00, 0x3B,
    ]

    func link(_ context: BasicRequestContext) -> LinkSigner.Link? {
        context.parameters.get("token").flatMap(links.link)
    }

    func open(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        guard case .open(let messageID) = link(context) else { throw Self.linkNotFound }
        let instant = now()
        if let event = try await engine.openEvent(messageID: messageID, now: instant) { _ = try await ingest.track([event], now: instant, via: "tracking") }
        return Response(status: .ok, headers: [.contentType: "image/gif", .cacheControl: "no-store, max-age=0"],
                        body: ResponseBody(byteBuffer: ByteBuffer(bytes: Self.pixel)))
    }

    /// Redirects only to the URL sealed in the token, and only to http(s).
    func click(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        guard case .click(let messageID, let target) = link(context), let url = URL(string: target),
              ["http", "https"].contains(url.scheme?.lowercased() ?? ""), url.host != nil
        else { throw Self.linkNotFound }
        let instant = now()
        if let event = try await engine.clickEvent(messageID: messageID, target: target, now: instant) {
            _ = try await ingest.track([event], now: instant, via: "tracking")
        }
        return Response(status: .found, headers: [.location: target, .cacheControl: "no-store"])
    }

    /// A GET never unsubscribes: mail scanners open every link in a message. It shows a page
    /// whose button POSTs, the same request a mail client's one-click button sends.
    func unsubscribePage(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        guard case .unsubscribe(let leadID, let channel) = link(context),
              let (address, already) = try await engine.unsubscribeState(leadID: leadID, channel: channel)
        else { throw Self.linkNotFound }
        let brand = engine.playbook.brand.name
        let what = channel == .email ? "emails" : "text messages"
        let body = already
            ? "<p>\(escape(address)) is unsubscribed from \(escape(brand)) \(what).</p>"
            : """
            <p>Stop \(escape(brand)) \(what) to <strong>\(escape(address))</strong>?</p>
            <form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click">\
            <button type="submit">Unsubscribe</button></form>
            """
        return page(title: "Unsubscribe", body: body)
    }

    /// RFC 8058 one-click: no cookie, no key, no confirmation; suppressed when this returns.
    func unsubscribe(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        guard case .unsubscribe(let leadID, let channel) = link(context) else { throw Self.linkNotFound }
        _ = try? await JSONBody.collect(request, limit: 4096)
        let via = request.headers[.contentType]?.contains("form") == true ? "one-click" : "link"
        switch try await engine.unsubscribe(leadID: leadID, channel: channel, via: via, now: now()) {
        case .unsubscribed(let lead), .alreadyUnsubscribed(let lead):
            let address = (channel == .email ? lead.email : lead.phone) ?? ""
            let what = channel == .email ? "emails" : "text messages"
            let rest = channel == .email ? " Receipts and invoices still come." : ""
            return page(title: "Unsubscribed", body: "<p>Done: \(escape(address)) will get no more \(escape(engine.playbook.brand.name)) "
                + "\(channel == .email ? "marketing " : "")\(what).\(rest)</p>")
        case .unknownLead:
            throw Self.linkNotFound
        }
    }

    /// The person's own page: a GET only shows, every change is a POST of the form (their click),
    /// recorded as an event.
    func preferencesPage(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        guard case .preferences(let leadID) = link(context), let preferences = try await engine.preferences(leadID: leadID) else { throw Self.linkNotFound }
        return page(title: "Email preferences", body: preferencesBody(preferences, saved: false))
    }

    func choosePreferences(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        guard case .preferences(let leadID) = link(context) else { throw Self.linkNotFound }
        let fields = FormBody.pairs(String(buffer: try await JSONBody.collect(request, limit: 16 << 10)))
        let choice: Engine.PreferenceChoice = switch fields.last(where: { $0.0 == "action" })?.1 {
        case "unsubscribe": .unsubscribeFromMarketing
        case "resubscribe": .resubscribe
        default: .receive(Set(fields.filter { $0.0 == "kind" }.map(\.1)))
        }
        guard let preferences = try await engine.choosePreferences(leadID: leadID, choice, now: now()) else { throw Self.linkNotFound }
        return page(title: "Email preferences", body: preferencesBody(preferences, saved: true))
    }

    func preferencesBody(_ preferences: Engine.Preferences, saved: Bool) -> String {
        let brand = escape(engine.playbook.brand.name)
        var body = "<h1>\(brand) email</h1><p>For <strong>\(escape(preferences.address))</strong>.</p>"
        if saved { body += "<p role=\"status\"><strong>Saved.</strong></p>" }
        if preferences.isBlocked {
            return body + "<p>Email to this address has stopped (\(escape(preferences.suppression?.reason ?? ""))); write to "
                + "\(escape(engine.playbook.brand.supportEmail)) if that is a mistake.</p>"
        }
        if preferences.suppression?.stopsMarketing == true {
            return body + "<p>You are unsubscribed from \(brand) marketing email. Receipts and invoices still come.</p>"
                + "<form method=\"post\"><button type=\"submit\" name=\"action\" value=\"resubscribe\">Resubscribe</button></form>"
        }
        body += "<form method=\"post\"><fieldset><legend>What you get</legend>"
        for (kind, campaigns) in preferences.kinds {
            let checked = preferences.receives(kind) ? " checked" : ""
            body += "<p><label><input type=\"checkbox\" name=\"kind\" value=\"\(escape(kind))\"\(checked)> <strong>\(escape(kind.capitalized))</strong>: "
                + "\(escape(campaigns.joined(separator: ", ")))</label></p>"
        }
        return body + "</fieldset><p>Receipts and invoices always come.</p>"
            + "<p><button type=\"submit\" name=\"action\" value=\"save\">Save</button> "
            + "<button type=\"submit\" name=\"action\" value=\"unsubscribe\">Unsubscribe from all marketing</button></p></form>"
    }

    /// A survey answer link. Mail scanners open every link of a message, and would answer 0 to 10
    /// at once: a GET shows the answer the link stands for with a button (and a box for a word
    /// more), and the person's click — the POST — records it, once per survey email.
    func surveyPage(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        guard case .survey(let messageID, let answer) = link(context),
              let question = try await engine.surveyQuestion(messageID: messageID, answer: answer)
        else { throw Self.linkNotFound }
        if question.answered { return page(title: "Thank you", body: "<p>Thank you: we have your answer.</p>") }
        let body = """
            <p>\(escape(Self.question(question.scale, brand: engine.playbook.brand.name)))</p>
            <p>Your answer: <strong>\(question.answer)</strong> \(escape(Self.scaleNote(question.scale)))</p>
            <form method="post"><p><label for="comment">Anything you would like to add? (optional)</label><br>\
            <textarea id="comment" name="comment" rows="4" cols="40" maxlength="2000"></textarea></p>\
            <button type="submit">Send my answer</button></form>
            """
        return page(title: "Your answer", body: body)
    }

    func answerSurvey(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        guard case .survey(let messageID, let answer) = link(context),
              let question = try await engine.surveyQuestion(messageID: messageID, answer: answer)
        else { throw Self.linkNotFound }
        let fields = FormBody.parse(String(buffer: try await JSONBody.collect(request, limit: 16 << 10)))
        let comment = fields["comment"]?.trimmingCharacters(in: .whitespacesAndNewlines)
        let recorded = try await engine.answerSurvey(question, messageID: messageID, comment: comment?.isEmpty == false ? comment : nil, now: now())
        return page(title: "Thank you", body: recorded
            ? "<p>Thank you: your answer (\(question.answer)) is with the \(escape(engine.playbook.brand.name)) team, who read every one.</p>"
            : "<p>Thank you: we have your answer already.</p>")
    }

    static func question(_ scale: SurveyScale, brand: String) -> String {
        switch scale {
        case .nps: "How likely are you to recommend \(brand) to a friend or colleague?"
        case .csat: "How satisfied were you with \(brand)?"
        case .ces: "How easy was it to get what you needed from \(brand)?"
        }
    }

    static func scaleNote(_ scale: SurveyScale) -> String {
        switch scale {
        case .nps: "(0 not at all likely, 10 extremely likely)"
        case .csat: "(1 very dissatisfied, 5 very satisfied)"
        case .ces: "(1 very difficult, 7 very easy)"
        }
    }

    static let linkNotFound = APIError.notFound("this link is not valid")

    func escape(_ text: String) -> String { HTMLFromText.escape(text) }

    func page(title: String, body: String) -> Response {
        let html = """
            <!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">\
            <meta name="robots" content="noindex"><title>\(escape(title))</title>\
            <style>body{font:16px/1.5 system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem}\
            button{font:inherit;padding:.5rem 1.25rem}</style></head><body>\(body)</body></html>
            """
        return Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store"],
                        body: ResponseBody(byteBuffer: ByteBuffer(string: html)))
    }
}
