import Foundation
import GRDB
import NurtureDSL
import NurtureEngine

/// `leads top` without decaying every lead: a lead's score at any instant is its fixed points plus
/// its behaviour gains decayed (minus losses, plus inactivity), and both parts have an index —
/// fixed points directly, gains through a rank that orders them at any common instant. Reading
/// both indexes best-first and stopping when no unseen lead can beat the current top N is
/// Fagin's threshold algorithm: exact, and it reads a few thousand rows, not a million.
extension SQLiteStore {
    static let rankingColumns = "id, stage, score_fixed, score_gains, score_losses, score_rank, scored_at, last_activity_at, score_version, score_thresholds"

    static func topLeads(_ ranking: LeadRanking, now: Date, _ db: Database) throws -> [RankedLead] {
        guard ranking.limit > 0 else { return [] }
        var conditions: [String] = []
        var arguments = StatementArguments()
        if let stage = ranking.stage {
            conditions.append("stage = ?")
            _ = arguments.append(contentsOf: [stage.rawValue])
        } else {
            conditions.append("stage < ?")
            _ = arguments.append(contentsOf: [Stage.customer.rawValue])
        }
        for segment in ranking.segments {
            let (sql, value) = try segmentCondition(segment)
            conditions.append(sql)
            _ = arguments.append(contentsOf: [value])
        }
        let filter = conditions.joined(separator: " AND ")
        let calculator = ranking.calculator
        let sql = rankingSQL(filter: filter)
        let byFixed = try Row.fetchCursor(db, sql: sql.byFixed, arguments: arguments)
        let byGains = try Row.fetchCursor(db, sql: sql.byGains, arguments: arguments)
        var seen: Set<String> = []
        // Best first; at most `limit` entries.
        var best: [(id: String, score: Double, scoring: ScoreSnapshot)] = []
        func consider(_ row: Row) {
            let id: String = row["id"]
            guard seen.insert(id).inserted else { return }
            let snapshot = scoreSnapshot(row)
            let score = calculator.current(snapshot, now: now)
            if best.count == ranking.limit, let last = best.last, score <= last.score { return }
            let index = best.firstIndex { score > $0.score || (score == $0.score && id < $0.id) } ?? best.endIndex
            best.insert((id, score, snapshot), at: index)
            if best.count > ranking.limit { best.removeLast() }
        }
        var fixedBound = Double.infinity, rankBound = Double.infinity
        var gainsExhausted = false
        let step = max(32, min(ranking.limit, 512))
        while true {
            var fixedExhausted = false
            for _ in 0..<step {
                guard let row = try byFixed.next() else { fixedExhausted = true; break }
                fixedBound = row["score_fixed"]
                consider(row)
            }
            // Every lead matching the filter has been read through the first index.
            if fixedExhausted { break }
            if !gainsExhausted {
                for _ in 0..<step {
                    guard let row = try byGains.next() else { gainsExhausted = true; break }
                    rankBound = row["score_rank"]
                    consider(row)
                }
            }
            // No unseen lead has more fixed points than the last read, nor more gains than the
            // last read gains (or none, once that index is exhausted); losses only subtract.
            let unseenBest = fixedBound + (gainsExhausted ? 0 : calculator.gains(rank: rankBound, now: now)) + calculator.largestInactivityBonus
            if best.count == ranking.limit, let last = best.last, last.score >= unseenBest { break }
        }
        let since = now.timeIntervalSince1970 - historyWindow
        return try best.compactMap { entry in
            guard let lead = try fetchLead(db, id: entry.id) else { return nil }
            let events = try Row.fetchAll(db.cachedStatement(sql: "SELECT type, at, properties FROM event WHERE lead_id = ? AND at >= ? ORDER BY at, seq"),
                                          arguments: [entry.id, since]).map(event)
            return RankedLead(lead: lead, score: entry.score, scoring: entry.scoring, events: events)
        }
    }

    struct UnknownSegment: Error, CustomStringConvertible {
        let name: String
        var description: String { "cannot filter on '\(name)': use a lead field, tag, or a declared attribute name" }
    }

    /// The two best-first walks: one down the fixed points, one down the behaviour gains.
    static func rankingSQL(filter: String) -> (byFixed: String, byGains: String) {
        ("SELECT \(rankingColumns) FROM lead WHERE \(filter) ORDER BY score_fixed DESC",
         "SELECT \(rankingColumns) FROM lead WHERE score_rank IS NOT NULL AND \(filter) ORDER BY score_rank DESC")
    }

    /// A segment as parameterised SQL; names are checked against the lead's columns or used as a
    /// JSON path only when they are plain identifiers, so no name can inject SQL.
    static func segmentCondition(_ segment: LeadRanking.Segment) throws -> (String, String) {
        let columns: Set<String> = ["email", "phone", "first_name", "last_name", "company", "job_title", "industry", "country", "timezone", "source", "owner"]
        let name = segment.name.lowercased()
        if columns.contains(name) { return ("\(name) = ? COLLATE NOCASE", segment.value) }
        if name == "tag" { return ("EXISTS (SELECT 1 FROM json_each(lead.tags) WHERE json_each.value = ?)", segment.value) }
        if name == "company_size" { return ("CAST(company_size AS TEXT) = ?", segment.value) }
        guard !name.isEmpty, name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }) else { throw UnknownSegment(name: segment.name) }
        return ("CAST(json_extract(attributes, '$.\(name)') AS TEXT) = ? COLLATE NOCASE", segment.value)
    }
}
