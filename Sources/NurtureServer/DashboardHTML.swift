import Foundation
import NurtureEngine

/// The dashboard's pages are rendered here as plain HTML with one inline stylesheet and inline
/// SVG: nothing is fetched from elsewhere (no CDN, fonts or scripts). Every value goes through
/// `h`, so a lead named `<script>` is text.
enum DashboardHTML {
    static func h(_ text: String) -> String { HTMLFromText.escape(text) }

    static func number(_ value: Int) -> String { ReportText.number(value) }
    static func percent(_ share: Double?, digits: Int = 1) -> String { ReportText.percent(share, digits: digits) }
    static func money(_ value: Double?) -> String { ReportText.amount(value) }

    static func time(_ date: Date?) -> String {
        guard let date else { return "–" }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "d MMM yyyy HH:mm 'UTC'"
        return formatter.string(from: date)
    }

    enum Section: String { case overview, leads, outbox }

    /// A whole page: the header with the navigation, `body`, and a sign-out form.
    static func page(title: String, section: Section?, csrf: String?, body: String) -> String {
        func link(_ path: String, _ label: String, _ this: Section) -> String {
            "<a href=\"\(path)\"\(section == this ? " aria-current=\"page\"" : "")>\(label)</a>"
        }
        let nav = csrf.map { token in
            """
            <nav>\(link("/", "Overview", .overview))\(link("/leads", "Leads", .leads))\(link("/outbox", "Outbox", .outbox))</nav>
            <form method="post" action="/logout" class="signout"><input type="hidden" name="csrf" value="\(h(token))"><button>Sign out</button></form>
            """
        } ?? ""
        return """
            <!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(h(title)) · Nurture</title><style>\(stylesheet)</style></head>
            <body><header><span class="brand">Nurture</span>\(nav)</header><main>\(body)</main></body></html>
            """
    }

    static let stylesheet = """
        :root{--ink:#1d2433;--muted:#667085;--line:#e4e7ec;--bg:#f6f7f9;--card:#fff;--accent:#3559e0;--sms:#12a37a;--warn:#b54708;--bad:#b42318}
        *{box-sizing:border-box}body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:var(--ink);background:var(--bg)}
        header{display:flex;align-items:center;gap:2rem;padding:.75rem 2rem;background:var(--card);border-bottom:1px solid var(--line)}
        .brand{font-weight:700;letter-spacing:.02em}nav{display:flex;gap:1.25rem;flex:1}nav a{color:var(--muted);text-decoration:none;padding:.25rem 0}
        nav a[aria-current]{color:var(--ink);border-bottom:2px solid var(--accent)}.signout button{background:none;border:0;color:var(--muted);cursor:pointer;font:inherit}
        main{max-width:1180px;margin:0 auto;padding:1.5rem 2rem 3rem}h1{font-size:1.5rem;margin:.25rem 0 1rem}h2{font-size:1.05rem;margin:1.75rem 0 .75rem}
        .card{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:1rem 1.25rem;margin-bottom:1rem}
        .kpis{display:grid;grid-template-columns:repeat(auto-fit,minmax(160px,1fr));gap:1rem;margin-bottom:1rem}
        .kpi{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:.9rem 1.1rem}.kpi b{display:block;font-size:1.6rem;font-variant-numeric:tabular-nums}
        .kpi span{color:var(--muted);font-size:.85rem}table{width:100%;border-collapse:collapse;background:var(--card)}
        th,td{padding:.55rem .75rem;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}th{font-size:.8rem;color:var(--muted);font-weight:600;text-transform:uppercase;letter-spacing:.03em}
        td.n,th.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}a{color:var(--accent)}.muted{color:var(--muted)}
        .badge{display:inline-block;padding:.05rem .5rem;border-radius:999px;font-size:.78rem;background:#eef2ff;color:var(--accent)}
        .badge.paused{background:#fef0c7;color:var(--warn)}.badge.dead{background:#fee4e2;color:var(--bad)}.badge.ok{background:#dcfae6;color:#067647}
        .notice{border-left:4px solid var(--warn);background:#fffaeb;padding:.75rem 1rem;border-radius:6px;margin-bottom:1rem}
        button.primary{background:var(--accent);color:#fff;border:0;border-radius:8px;padding:.5rem 1rem;font:inherit;cursor:pointer}
        button.secondary{background:var(--card);color:var(--ink);border:1px solid var(--line);border-radius:8px;padding:.4rem .9rem;font:inherit;cursor:pointer}
        .bar{height:.6rem;background:var(--accent);border-radius:3px}.bars td.barcell{width:50%}.legend{display:flex;gap:1rem;font-size:.85rem;color:var(--muted)}
        .dot{display:inline-block;width:.7rem;height:.7rem;border-radius:2px;margin-right:.3rem;vertical-align:-1px}
        .login{max-width:380px;margin:10vh auto}.login input{width:100%;padding:.6rem .75rem;border:1px solid var(--line);border-radius:8px;font:inherit;margin:.35rem 0 1rem}
        .error{color:var(--bad)}.row{display:flex;justify-content:space-between;align-items:center;gap:1rem}svg text{font:12px system-ui,sans-serif;fill:var(--ink)}
        """

    /// Sends per day by channel, stacked, over `days` (oldest first).
    static func sendsChart(days: [String], email: [String: Int], sms: [String: Int]) -> String {
        let width = 720.0, height = 160.0, left = 40.0, bottom = 22.0
        let top = max(1, days.map { (email[$0] ?? 0) + (sms[$0] ?? 0) }.max() ?? 1)
        let slot = (width - left) / Double(max(1, days.count)), barWidth = max(2, slot * 0.7)
        var bars = ""
        for (index, day) in days.enumerated() {
            let e = Double(email[day] ?? 0), s = Double(sms[day] ?? 0)
            let x = left + Double(index) * slot + (slot - barWidth) / 2
            let eh = (height - bottom) * e / Double(top), sh = (height - bottom) * s / Double(top)
            let tip = "\(day): \(number(Int(e))) email, \(number(Int(s))) SMS"
            bars += "<g><title>\(h(tip))</title>"
                + "<rect x=\"\(fmt(x))\" y=\"\(fmt(height - bottom - eh))\" width=\"\(fmt(barWidth))\" height=\"\(fmt(eh))\" fill=\"#3559e0\"/>"
                + "<rect x=\"\(fmt(x))\" y=\"\(fmt(height - bottom - eh - sh))\" width=\"\(fmt(barWidth))\" height=\"\(fmt(sh))\" fill=\"#12a37a\"/></g>"
        }
        let labels = [0, days.count / 2, days.count - 1].filter { $0 >= 0 && $0 < days.count }.map { index in
            // The last label ends at its bar's right edge, so it stays inside the chart.
            let last = index == days.count - 1
            return "<text x=\"\(fmt(left + Double(index + (last ? 1 : 0)) * slot))\" y=\"\(fmt(height - 6))\"\(last ? " text-anchor=\"end\"" : "")>"
                + "\(h(String(days[index].dropFirst(5))))</text>"
        }.joined()
        return """
            <svg viewBox="0 0 \(fmt(width)) \(fmt(height))" width="100%" role="img" aria-label="Messages sent per day by channel">
            <line x1="\(fmt(left))" y1="\(fmt(height - bottom))" x2="\(fmt(width))" y2="\(fmt(height - bottom))" stroke="#e4e7ec"/>
            <text x="0" y="12">\(number(top))</text><text x="0" y="\(fmt(height - bottom))">0</text>\(bars)\(labels)</svg>
            <div class="legend"><span><i class="dot" style="background:#3559e0"></i>Email</span><span><i class="dot" style="background:#12a37a"></i>SMS</span></div>
            """
    }

    static func fmt(_ value: Double) -> String { String(format: "%.1f", value) }
}
