import Foundation
import NurtureDSL
import NurtureEngine

/// What each dashboard page shows, from the counters, the ranking and the outbox.
extension NurtureServer {
    typealias H = DashboardHTML

    /// Ids in paths: letters, digits and `-_.` as they are, anything else percent-encoded.
    static let pathSafe = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-_."))

    static func campaignLink(_ campaign: String) -> String {
        "/campaigns/" + (campaign.addingPercentEncoding(withAllowedCharacters: pathSafe) ?? "")
    }

    static func leadLink(_ id: String) -> String {
        "/leads/" + (id.addingPercentEncoding(withAllowedCharacters: pathSafe) ?? "")
    }

    func overview(csrf: String) async throws -> String {
        let today = now()
        let days = (0..<30).reversed().map { CampaignStats.day(today.addingTimeInterval(-Double($0) * 86_400)) }
        let counters = try await engine.store.campaignCounters(CounterFilter(since: days.first))
        var email: [String: Int] = [:], sms: [String: Int] = [:]
        for counter in counters where counter.metric == "sent" {
            if counter.channel == "email" { email[counter.day, default: 0] += counter.count }
            if counter.channel == "sms" { sms[counter.day, default: 0] += counter.count }
        }
        let stats = try await engine.stats(CounterFilter(since: days.first))
        let queue = try await engine.store.outboxCounts()
        let counts = try await engine.store.counts()
        let sent = email.values.reduce(0, +) + sms.values.reduce(0, +)
        var body = "<h1>Overview</h1>"
        let paused = stats.filter { $0.paused != nil }
        for campaign in paused {
            body += "<div class=\"notice\"><b>\(H.h(campaign.name)) is paused</b> since \(H.h(H.time(campaign.paused?.at))) (\(H.h(campaign.paused?.by ?? ""))): "
                + "\(H.h(campaign.paused?.reason ?? "")). <a href=\"\(Self.campaignLink(campaign.campaign))\">Open the campaign</a></div>"
        }
        body += """
            <div class="kpis">
            <div class="kpi"><b>\(H.number(counts.leads))</b><span>leads</span></div>
            <div class="kpi"><b>\(H.number(sent))</b><span>messages sent, last 30 days</span></div>
            <div class="kpi"><b>\(H.number((queue["pending"] ?? 0) + (queue["sending"] ?? 0)))</b><span>in the queue</span></div>
            <div class="kpi"><b>\(H.number(queue["dead"] ?? 0))</b><span><a href="/outbox">dead letters</a></span></div>
            <div class="kpi"><b>\(H.number(paused.count))</b><span>paused campaigns</span></div>
            </div>
            <div class="card"><div class="row"><h2 style="margin-top:0">Sends per day</h2><span class="muted">last 30 days, UTC</span></div>
            \(H.sendsChart(days: days, email: email, sms: sms))</div>
            <h2>Campaigns, last 30 days</h2>
            <table><thead><tr><th>Campaign</th><th>Status</th><th class="n">Entered</th><th class="n">Active</th><th class="n">Sent</th>
            <th class="n">Opens</th><th class="n">Clicks</th><th class="n">Conversions</th><th class="n">Revenue</th></tr></thead><tbody>
            """
        for campaign in stats {
            let sends = campaign.steps.filter { $0.variant == nil }
            let sentCount = sends.reduce(0) { $0 + $1.sent }
            let opens = sends.reduce(0) { $0 + $1.opened }, clicks = sends.reduce(0) { $0 + $1.clicked }
            let status = campaign.paused == nil ? "<span class=\"badge ok\">running</span>" : "<span class=\"badge paused\">paused</span>"
            body += """
                <tr><td><a href="\(Self.campaignLink(campaign.campaign))">\(H.h(campaign.name))</a></td><td>\(status)</td>
                <td class="n">\(H.number(campaign.entered))</td><td class="n">\(H.number(campaign.active))</td><td class="n">\(H.number(sentCount))</td>
                <td class="n">\(H.percent(sentCount == 0 ? nil : Double(opens) / Double(sentCount)))</td>
                <td class="n">\(H.percent(sentCount == 0 ? nil : Double(clicks) / Double(sentCount)))</td>
                <td class="n">\(H.number(campaign.conversions))</td><td class="n">\(H.money(campaign.revenue))</td></tr>
                """
        }
        body += "</tbody></table>"
        return H.page(title: "Overview", section: .overview, csrf: csrf, body: body)
    }

    func campaignPage(_ campaign: Campaign, csrf: String) async throws -> String {
        guard let stats = try await engine.stats(CounterFilter(campaignID: campaign.id)).first else { return "" }
        let token = H.h(csrf)
        var body = "<div class=\"row\"><h1>\(H.h(campaign.name)) <span class=\"muted\">\(H.h(campaign.id))</span></h1>"
        if let pause = stats.paused {
            body += "<form method=\"post\" action=\"\(Self.campaignLink(campaign.id))/resume\"><input type=\"hidden\" name=\"csrf\" value=\"\(token)\">"
                + "<button class=\"primary\">Resume</button></form></div>"
            body += "<div class=\"notice\"><b>Paused</b> since \(H.h(H.time(pause.at))) (\(H.h(pause.by))): \(H.h(pause.reason)). "
                + "Nothing is sent from it; its leads keep their place.</div>"
        } else {
            body += "<form method=\"post\" action=\"\(Self.campaignLink(campaign.id))/pause\"><input type=\"hidden\" name=\"csrf\" value=\"\(token)\">"
                + "<input type=\"hidden\" name=\"reason\" value=\"paused from the dashboard\"><button class=\"secondary\">Pause</button></form></div>"
        }
        body += """
            <div class="kpis"><div class="kpi"><b>\(H.number(stats.entered))</b><span>entered</span></div>
            <div class="kpi"><b>\(H.number(stats.active))</b><span>active</span></div>
            <div class="kpi"><b>\(H.number(stats.completed))</b><span>completed</span></div>
            <div class="kpi"><b>\(H.number(stats.conversions))</b><span>conversions</span></div>
            <div class="kpi"><b>\(H.money(stats.revenue))</b><span>revenue\(stats.roi.map { " · ROI \(H.h(String(format: "%.0f%%", $0 * 100)))" } ?? "")</span></div></div>
            <h2>Journey</h2><div class="card">\(journey(campaign, stats))</div>
            <h2>Funnel</h2><table class="bars"><tbody>
            """
        let funnel = [("Entered", stats.entered)] + stats.steps.filter { $0.variant == nil }.map { ("\($0.step) sent", $0.sent) }
            + stats.outcomes.filter(\.isGoal).map { ($0.reason, $0.count) }
        let widest = max(1, funnel.map(\.1).max() ?? 1)
        for (label, count) in funnel {
            body += "<tr><td>\(H.h(label))</td><td class=\"n\">\(H.number(count))</td>"
                + "<td class=\"barcell\"><div class=\"bar\" style=\"width:\(String(format: "%.1f", 100 * Double(count) / Double(widest)))%\"></div></td></tr>"
        }
        body += "</tbody></table>"
        if !stats.experiments.isEmpty {
            body += "<h2>A/B splits</h2>"
            for experiment in stats.experiments {
                body += "<div class=\"card\"><b>\(H.h(experiment.step))</b> <span class=\"muted\">\(H.h(experiment.metric)) per send · \(H.h(experiment.test))</span>"
                if let decision = experiment.decision {
                    body += " <span class=\"badge ok\">\(H.h(decision.variant)) won · \(H.h(decision.by))</span>"
                } else {
                    body += " <span class=\"badge\">running · \(H.h(experiment.winnerRule))</span>"
                }
                body += "<table><thead><tr><th>Variant</th><th class=\"n\">Weight</th><th class=\"n\">Sent</th><th class=\"n\">Converted</th><th class=\"n\">Rate</th></tr></thead><tbody>"
                for arm in experiment.arms {
                    body += "<tr><td>\(H.h(arm.variant))</td><td class=\"n\">\(arm.weight)%</td><td class=\"n\">\(H.number(arm.sent))</td>"
                        + "<td class=\"n\">\(H.number(arm.conversions))</td><td class=\"n\">\(H.percent(arm.rate))</td></tr>"
                }
                body += "</tbody></table>"
                for versus in experiment.versus {
                    let c = versus.comparison
                    body += "<p>\(H.h(versus.variant)) − \(H.h(versus.baseline)): \(H.h(String(format: "%+.1f", c.difference * 100))) pts "
                        + "[\(H.h(String(format: "%+.1f", c.low * 100))) to \(H.h(String(format: "%+.1f", c.high * 100)))], p \(H.h(String(format: "%.3f", c.pValue)))"
                        + (versus.significant ? " — <b>significant</b>" : " — no difference shown yet") + "</p>"
                }
                if experiment.sampleRatioMismatch { body += "<p class=\"error\">Sample ratio mismatch: trust no verdict from this split.</p>" }
                body += "</div>"
            }
        }
        if let holdout = stats.holdout {
            body += "<h2>Holdout</h2><div class=\"card\">\(holdout.percent)% held out: goals reached by \(H.percent(holdout.treatment.rate)) of "
                + "\(H.number(holdout.treatment.entered)) who got the campaign, \(H.percent(holdout.holdout.rate)) of \(H.number(holdout.holdout.entered)) held out"
                + (holdout.lift.map { " · lift \(H.h(String(format: "%+.1f", $0.difference * 100))) pts, p \(H.h(String(format: "%.3f", $0.pValue)))" } ?? "") + "</div>"
        }
        if !stats.goals.isEmpty {
            body += "<h2>Goals</h2><table><thead><tr><th>Event</th><th class=\"n\">Conversions</th><th class=\"n\">Revenue</th></tr></thead><tbody>"
            for goal in stats.goals {
                body += "<tr><td>\(H.h(goal.event))</td><td class=\"n\">\(H.number(goal.conversions))</td><td class=\"n\">\(H.money(goal.revenue))</td></tr>"
            }
            body += "</tbody></table>"
        }
        body += "<h2>Ways out</h2><table><thead><tr><th>Reason</th><th class=\"n\">Leads</th><th class=\"n\">Of entrants</th></tr></thead><tbody>"
        for outcome in stats.outcomes {
            body += "<tr><td>\(H.h(outcome.reason))\(outcome.isGoal ? " <span class=\"badge ok\">goal</span>" : "")</td>"
                + "<td class=\"n\">\(H.number(outcome.count))</td><td class=\"n\">\(H.percent(outcome.rate))</td></tr>"
        }
        body += "</tbody></table><p class=\"muted\">\(H.h(stats.attribution))</p>"
        return H.page(title: campaign.name, section: .overview, csrf: csrf, body: body)
    }

    /// The journey as boxes in document order, indented by branch, each message step with its counts.
    func journey(_ campaign: Campaign, _ stats: CampaignStats) -> String {
        var rows: [(depth: Int, text: String, counts: String)] = []
        func walk(_ steps: [Step], depth: Int) {
            for step in steps {
                var counts = ""
                if let result = stats.steps.first(where: { $0.step == step.id && $0.variant == nil }) {
                    counts = "\(H.number(result.sent)) sent · \(H.percent(result.openRate)) opened · \(H.percent(result.clickRate)) clicked"
                }
                rows.append((depth, step.summary, counts))
                for branch in step.branches where !branch.steps.isEmpty {
                    rows.append((depth + 1, branch.label, ""))
                    walk(branch.steps, depth: depth + 2)
                }
            }
        }
        walk(campaign.steps, depth: 0)
        let rowHeight = 40.0, width = 760.0
        var svg = "<svg viewBox=\"0 0 \(H.fmt(width)) \(H.fmt(Double(rows.count) * rowHeight + 8))\" width=\"100%\" role=\"img\" aria-label=\"The journey of \(H.h(campaign.name))\">"
        for (index, row) in rows.enumerated() {
            let x = 8 + Double(row.depth) * 22, y = 4 + Double(index) * rowHeight
            // Long enough for a step's summary, short enough to leave room for its counts.
            let label = row.text.count > 54 ? String(row.text.prefix(53)) + "…" : row.text
            if row.counts.isEmpty, row.depth > 0, ["then", "else", "on event", "on timeout"].contains(row.text) {
                svg += "<text x=\"\(H.fmt(x))\" y=\"\(H.fmt(y + 22))\" fill=\"#667085\">\(H.h(label)):</text>"
                continue
            }
            svg += "<rect x=\"\(H.fmt(x))\" y=\"\(H.fmt(y))\" width=\"\(H.fmt(width - x - 8))\" height=\"\(H.fmt(rowHeight - 8))\" rx=\"6\" fill=\"#f6f7f9\" stroke=\"#e4e7ec\"/>"
                + "<text x=\"\(H.fmt(x + 10))\" y=\"\(H.fmt(y + 21))\">\(H.h(label))</text>"
            if !row.counts.isEmpty {
                svg += "<text x=\"\(H.fmt(width - 18))\" y=\"\(H.fmt(y + 21))\" text-anchor=\"end\" fill=\"#3559e0\">\(H.h(row.counts))</text>"
            }
        }
        return svg + "</svg>"
    }

    func leadsPage(csrf: String) async throws -> String {
        let instant = now()
        let ranked = LeadViews.ranked(try await engine.top(limit: 50, now: instant), calculator: try engine.scoring, now: instant)
        var body = "<h1>Top leads</h1><table><thead><tr><th class=\"n\">#</th><th>Lead</th><th>Company</th><th>Stage</th><th class=\"n\">Score</th>"
            + "<th>Why</th><th>Owner</th></tr></thead><tbody>"
        for lead in ranked {
            let reasons = lead.reasons.map { "\(H.h($0.label)) \(H.h(String(format: "%+.1f", $0.points)))" }.joined(separator: " · ")
            body += "<tr><td class=\"n\">\(lead.rank)</td><td><a href=\"\(Self.leadLink(lead.id))\">\(H.h(lead.name.isEmpty ? (lead.email ?? lead.id) : lead.name))</a>"
                + "<div class=\"muted\">\(H.h(lead.email ?? ""))</div></td><td>\(H.h(lead.company ?? ""))</td><td>\(H.h(lead.stage))</td>"
                + "<td class=\"n\">\(H.h(String(format: "%.1f", lead.score)))</td><td>\(reasons)</td><td>\(H.h(lead.owner ?? "unassigned"))</td></tr>"
        }
        if ranked.isEmpty { body += "<tr><td colspan=\"7\" class=\"muted\">No leads yet.</td></tr>" }
        body += "</tbody></table>"
        return H.page(title: "Top leads", section: .leads, csrf: csrf, body: body)
    }

    func leadPage(_ id: String, csrf: String) async throws -> String {
        guard let found = try await engine.detail(.id(id), now: now()) else { throw APIError.notFound("no lead \(id)") }
        let lead = found.detail.work.lead
        let name = lead.displayName.isEmpty ? (lead.email ?? lead.id) : lead.displayName
        var body = "<h1>\(H.h(name))</h1><div class=\"card\"><table><tbody>"
        let profile: [(String, String?)] = [
            ("Email", lead.email), ("Phone", lead.phone), ("Company", lead.company), ("Title", lead.jobTitle), ("Industry", lead.industry),
            ("Country", lead.country), ("Time zone", lead.timeZone + (lead.timeZoneSource == .given ? "" : " (\(lead.timeZoneSource.explanation))")), ("Source", lead.source), ("Stage", lead.stage.name), ("Owner", lead.owner ?? "unassigned"),
            ("Tags", lead.tags.sorted().joined(separator: ", ")),
        ]
        for (label, value) in profile where !(value ?? "").isEmpty {
            body += "<tr><th>\(H.h(label))</th><td>\(H.h(value ?? ""))</td></tr>"
        }
        body += "</tbody></table></div>"
        if let card = found.card {
            body += "<h2>Score \(H.h(String(format: "%.1f", card.total)))</h2><table class=\"bars\"><tbody>"
            let contributions = card.contributions.filter { abs($0.value) >= 0.05 }.sorted { abs($0.value) > abs($1.value) }
            let widest = max(0.1, contributions.map { abs($0.value) }.max() ?? 1)
            for contribution in contributions {
                body += "<tr><td>\(H.h(contribution.label))</td><td class=\"n\">\(H.h(String(format: "%+.1f", contribution.value)))</td>"
                    + "<td class=\"barcell\"><div class=\"bar\" style=\"width:\(String(format: "%.1f", 100 * abs(contribution.value) / widest))%;background:\(contribution.value < 0 ? "#b42318" : "#3559e0")\"></div></td></tr>"
            }
            body += "</tbody></table>"
        }
        body += "<h2>Campaigns</h2><table><thead><tr><th>Campaign</th><th>Status</th><th>Step</th><th>Since</th></tr></thead><tbody>"
        for enrollment in found.detail.work.enrollments {
            body += "<tr><td><a href=\"\(Self.campaignLink(enrollment.campaignID))\">\(H.h(enrollment.campaignID))</a></td>"
                + "<td>\(H.h(enrollment.status.rawValue))\(enrollment.isHeldOut ? " <span class=\"badge\">holdout</span>" : "")</td>"
                + "<td>\(H.h(enrollment.isActive ? enrollment.stepID ?? "" : enrollment.endReason ?? ""))</td><td>\(H.h(H.time(enrollment.enrolledAt)))</td></tr>"
        }
        body += "</tbody></table><h2>Timeline</h2><table><thead><tr><th>When</th><th>What</th><th>Details</th></tr></thead><tbody>"
        for event in found.detail.timeline {
            let details = event.properties.sorted { $0.key < $1.key }.prefix(4).map { "\($0.key): \($0.value.textValue)" }.joined(separator: " · ")
            body += "<tr><td class=\"n\">\(H.h(H.time(event.at)))</td><td>\(H.h(event.type))</td><td class=\"muted\">\(H.h(details))</td></tr>"
        }
        body += "</tbody></table><h2>Messages</h2><table><thead><tr><th>When</th><th>Campaign</th><th>Step</th><th>Subject</th><th>Status</th></tr></thead><tbody>"
        for message in found.detail.messages {
            body += "<tr><td class=\"n\">\(H.h(H.time(message.createdAt)))</td><td>\(H.h(message.campaignID))</td><td>\(H.h(message.stepID))</td>"
                + "<td>\(H.h(message.subject ?? ""))</td><td>\(H.h(message.status.rawValue))</td></tr>"
        }
        body += "</tbody></table>"
        return H.page(title: name, section: .leads, csrf: csrf, body: body)
    }

    func outboxPage(csrf: String) async throws -> String {
        let dead = try await engine.store.messages(status: .dead, limit: 100)
        let recent = try await engine.store.messages(status: nil, limit: 50)
        var body = "<h1>Outbox</h1><h2>Dead letters</h2><table><thead><tr><th>Created</th><th>Campaign</th><th>Step</th><th>To</th><th>Error</th><th></th></tr></thead><tbody>"
        for message in dead {
            body += "<tr><td class=\"n\">\(H.h(H.time(message.createdAt)))</td><td>\(H.h(message.campaignID))</td><td>\(H.h(message.stepID))</td>"
                + "<td><a href=\"\(Self.leadLink(message.leadID))\">lead</a></td><td class=\"muted\">\(H.h(message.lastError ?? ""))</td>"
                + "<td><form method=\"post\" action=\"/outbox/\(message.id.addingPercentEncoding(withAllowedCharacters: Self.pathSafe) ?? "")/retry\">"
                + "<input type=\"hidden\" name=\"csrf\" value=\"\(H.h(csrf))\"><button class=\"secondary\">Retry</button></form></td></tr>"
        }
        if dead.isEmpty { body += "<tr><td colspan=\"6\" class=\"muted\">No dead letters.</td></tr>" }
        body += "</tbody></table><h2>Latest messages</h2><table><thead><tr><th>Created</th><th>Channel</th><th>Campaign</th><th>Step</th><th>Subject</th>"
            + "<th>Status</th><th class=\"n\">Attempts</th></tr></thead><tbody>"
        for message in recent {
            let badge = message.status == .dead ? "dead" : message.status == .sent ? "ok" : ""
            body += "<tr><td class=\"n\">\(H.h(H.time(message.createdAt)))</td><td>\(H.h(message.channel.rawValue))</td><td>\(H.h(message.campaignID))</td>"
                + "<td>\(H.h(message.stepID))</td><td>\(H.h(message.subject ?? ""))</td><td><span class=\"badge \(badge)\">\(H.h(message.status.rawValue))</span></td>"
                + "<td class=\"n\">\(message.attempts)</td></tr>"
        }
        body += "</tbody></table>"
        return H.page(title: "Outbox", section: .outbox, csrf: csrf, body: body)
    }
}
