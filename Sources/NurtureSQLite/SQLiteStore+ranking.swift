import Foundation
import GRDB
import NurtureDSL
import NurtureStorage

/// The two walks the engine's ranking reads: leads best first by fixed points, or by the rank of
/// their behaviour gains, ties by id, each a range of its index from the page's cursor on.
extension SQLiteStore {
    /// The id, the stage, then `scoreColumns` from position 2.
    static let rankingColumns = "id, stage, \(scoreColumns)"

    static func rankingPageSQL(_ order: RankingOrder, filter: RankingFilter, after cursor: RankingCursor?, limit: Int) throws -> (String, StatementArguments) {
        let stages = filter.stages.map(\.rawValue).sorted()
        var conditions = ["stage IN (" + stages.map { _ in "?" }.joined(separator: ", ") + ")"]
        var arguments = StatementArguments(stages)
        for segment in filter.segments {
            let (sql, value) = try segmentCondition(segment)
            conditions.append(sql)
            _ = arguments.append(contentsOf: [value])
        }
        let (column, index) = switch order {
        case .fixedPoints: ("score_fixed", "lead_fixed_id")
        case .gainsRank: ("score_rank", "lead_rank_id")
        }
        if order == .gainsRank { conditions.append("score_rank IS NOT NULL") }
        if let cursor {
            // `<=` lets the walk start at the cursor in the index; the rest skips the ties already read.
            conditions.append("\(column) <= ? AND NOT (\(column) = ? AND id <= ?)")
            _ = arguments.append(contentsOf: [cursor.value, cursor.value, cursor.id])
        }
        _ = arguments.append(contentsOf: [limit])
        let sql = "SELECT \(rankingColumns) FROM lead INDEXED BY \(index) WHERE \(conditions.joined(separator: " AND ")) ORDER BY \(column) DESC, id LIMIT ?"
        return (sql, arguments)
    }

    /// A segment as parameterised SQL; names are checked against the lead's columns or used as a
    /// JSON path only when they are plain identifiers, so no name can inject SQL.
    static func segmentCondition(_ segment: RankingFilter.Segment) throws -> (String, String) {
        let columns: Set<String> = ["email", "phone", "first_name", "last_name", "company", "job_title", "industry", "country", "timezone", "source", "owner"]
        let name = segment.name.lowercased()
        if columns.contains(name) { return ("\(name) = ? COLLATE NOCASE", segment.value) }
        if name == "tag" { return ("EXISTS (SELECT 1 FROM json_each(lead.tags) WHERE json_each.value = ?)", segment.value) }
        if name == "company_size" { return ("CAST(company_size AS TEXT) = ?", segment.value) }
        guard !name.isEmpty, name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }) else { throw UnknownSegment(name: segment.name) }
        return ("CAST(json_extract(attributes, '$.\(name)') AS TEXT) = ? COLLATE NOCASE", segment.value)
    }
}
