import Foundation
import HTTPTypes
import Hummingbird
import NurtureDSL
import NurtureEngine

/// The dashboard at `/`: sign-in with an API key or `NURTURE_DASHBOARD_PASSWORD`, then pages
/// rendered on the server from the same engine calls the CLI and the API use. Pages without a
/// session redirect to `/login` and show nothing; every form carries the session's CSRF token
/// and an action without it is refused with 403. Lead data appears in pages, never in URLs
/// other than lead ids.
extension NurtureServer {
    /// The dashboard's routes: pages for people, not the API, so `/openapi.yaml` leaves them out.
    public static let dashboardRoutes: Set<String> = [
        "get /", "get /login", "post /login", "post /logout", "get /campaigns/{campaign}", "post /campaigns/{campaign}/pause",
        "post /campaigns/{campaign}/resume", "get /leads", "get /leads/{lead}", "get /outbox", "post /outbox/{message}/retry",
    ]

    func addDashboardRoutes(_ router: Router<BasicRequestContext>) {
        router.get("login") { request, _ in try await loginPage(request, problem: nil) }
        router.post("login") { request, _ in try await signIn(request) }
        router.post("logout") { request, _ in
            _ = try await signedIn(request, form: try await form(request))
            return redirect("/login", cookies: ["\(DashboardSession.cookie)=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict\(secureAttribute)"])
        }
        router.get("/") { request, _ in try await page(request) { csrf in try await overview(csrf: csrf) } }
        router.get("campaigns/:campaign") { request, context in
            let id = pathParameter(context, "campaign")
            guard let campaign = engine.playbook.campaign(id) else { throw APIError.notFound("no campaign '\(id)' in this playbook") }
            return try await page(request) { csrf in try await campaignPage(campaign, csrf: csrf) }
        }
        router.post("campaigns/:campaign/pause") { request, context in try await campaignAction(request, context, pause: true) }
        router.post("campaigns/:campaign/resume") { request, context in try await campaignAction(request, context, pause: false) }
        router.get("leads") { request, _ in try await page(request) { csrf in try await leadsPage(csrf: csrf) } }
        router.get("leads/:lead") { request, context in
            let id = pathParameter(context, "lead")
            return try await page(request) { csrf in try await leadPage(id, csrf: csrf) }
        }
        router.get("outbox") { request, _ in try await page(request) { csrf in try await outboxPage(csrf: csrf) } }
        router.post("outbox/:message/retry") { request, context in
            _ = try await signedIn(request, form: try await form(request))
            let id = pathParameter(context, "message")
            _ = try await engine.store.retryDeadLetters(ids: [id], now: now())
            return redirect("/outbox")
        }
    }

    /// A path parameter as it was before the page's links percent-encoded it.
    func pathParameter(_ context: BasicRequestContext, _ name: String) -> String {
        let raw = context.parameters.get(name) ?? ""
        return raw.removingPercentEncoding ?? raw
    }

    // MARK: - Signing in

    var secureAttribute: String { links.publicURL.lowercased().hasPrefix("https://") ? "; Secure" : "" }

    func session() async throws -> DashboardSession {
        DashboardSession(secret: try await engine.store.secret(named: "dashboard"))
    }

    func loginPage(_ request: Request, problem: String?, status: HTTPResponse.Status = .ok) async throws -> Response {
        let nonce = DashboardSession.nonce()
        let token = try await session().loginCSRF(nonce)
        let body = """
            <div class="login card"><h1>Sign in</h1>
            <p class="muted">Use an API key from NURTURE_API_KEYS or the dashboard password.</p>
            \(problem.map { "<p class=\"error\" role=\"alert\">\(DashboardHTML.h($0))</p>" } ?? "")
            <form method="post" action="/login"><label for="key">Key or password</label>
            <input id="key" name="key" type="password" autocomplete="current-password" required autofocus>
            <input type="hidden" name="csrf" value="\(DashboardHTML.h(token))"><button class="primary" type="submit">Sign in</button></form></div>
            """
        return html(DashboardHTML.page(title: "Sign in", section: nil, csrf: nil, body: body), status: status,
                    cookies: ["\(DashboardSession.loginCookie)=\(nonce); Path=/login; HttpOnly; SameSite=Strict\(secureAttribute)"])
    }

    func signIn(_ request: Request) async throws -> Response {
        let fields = try await form(request)
        let session = try await session()
        guard let nonce = request.cookies[DashboardSession.loginCookie]?.value, let token = fields["csrf"],
              DashboardSession.same(session.loginCSRF(nonce), token)
        else { throw APIError(.forbidden, code: "csrf", message: "the sign-in form expired or came from elsewhere; reload /login") }
        let key = fields["key"] ?? ""
        let accepted = settings.apiKeys + (settings.dashboardPassword.map { [$0] } ?? [])
        guard !key.isEmpty, accepted.contains(where: { DashboardSession.same($0, key) }) else {
            return try await loginPage(request, problem: "That key or password is not right.", status: .unauthorized)
        }
        return redirect("/", cookies: [
            "\(DashboardSession.cookie)=\(session.issue(now: now())); Path=/; Max-Age=\(Int(DashboardSession.lifetime)); HttpOnly; SameSite=Strict\(secureAttribute)",
            "\(DashboardSession.loginCookie)=; Path=/login; Max-Age=0; HttpOnly; SameSite=Strict\(secureAttribute)",
        ])
    }

    /// The session's CSRF token, or nil without a valid session.
    func csrfToken(_ request: Request) async throws -> String? {
        let session = try await session()
        return session.verify(request.cookies[DashboardSession.cookie]?.value, now: now()).map(session.csrf)
    }

    /// A page for a signed-in visitor; everyone else goes to `/login` and sees nothing.
    func page(_ request: Request, _ render: (String) async throws -> String) async throws -> Response {
        guard let csrf = try await csrfToken(request) else { return redirect("/login") }
        return html(try await render(csrf))
    }

    /// An action: a valid session and its CSRF token in the form, or 403.
    func signedIn(_ request: Request, form: [String: String]) async throws -> String {
        guard let csrf = try await csrfToken(request) else { throw APIError(.forbidden, code: "signed_out", message: "sign in at /login first") }
        guard let sent = form["csrf"], DashboardSession.same(csrf, sent) else {
            throw APIError(.forbidden, code: "csrf", message: "the form's CSRF token is missing or wrong; reload the page")
        }
        return csrf
    }

    func form(_ request: Request) async throws -> [String: String] {
        let buffer = try await JSONBody.collect(request, limit: min(settings.maxBodyBytes, 64 << 10))
        return FormBody.parse(String(buffer: buffer))
    }

    func campaignAction(_ request: Request, _ context: BasicRequestContext, pause: Bool) async throws -> Response {
        let fields = try await form(request)
        _ = try await signedIn(request, form: fields)
        let id = pathParameter(context, "campaign")
        guard engine.playbook.campaign(id) != nil else { throw APIError.notFound("no campaign '\(id)' in this playbook") }
        if pause {
            let reason = (fields["reason"] ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
            try await engine.pause(campaign: id, reason: reason.isEmpty ? "paused from the dashboard" : String(reason.unicodeScalars.filter { $0.value >= 0x20 && $0.value != 0x7F }.prefix(300)),
                                   by: "dashboard", now: now())
        } else {
            try await engine.resume(campaign: id, by: "dashboard", now: now())
        }
        return redirect(Self.campaignLink(id))
    }

    func html(_ text: String, status: HTTPResponse.Status = .ok, cookies: [String] = []) -> Response {
        var headers: HTTPFields = [
            .contentType: "text/html; charset=utf-8", .cacheControl: "no-store",
            .contentSecurityPolicy: "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
            .xContentTypeOptions: "nosniff",
        ]
        headers.append(HTTPField(name: HTTPField.Name("Referrer-Policy")!, value: "no-referrer"))
        for cookie in cookies { headers.append(HTTPField(name: .setCookie, value: cookie)) }
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }

    /// 303: the browser follows with a GET, so a reload never repeats a form.
    func redirect(_ path: String, cookies: [String] = []) -> Response {
        var headers: HTTPFields = [.location: path, .cacheControl: "no-store"]
        for cookie in cookies { headers.append(HTTPField(name: .setCookie, value: cookie)) }
        return Response(status: .seeOther, headers: headers)
    }
}
