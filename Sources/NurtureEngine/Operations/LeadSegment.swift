public import NurtureDSL
public import NurtureStorage

/// The one way a segment of leads is written, on the command line (`--segment industry=SaaS`)
/// and over HTTP (`segment=industry=SaaS` in a query, `"segment": ["industry=SaaS"]` in a body):
/// `NAME=VALUE`, where NAME is a lead field, `tag`, `stage`, `persona` or a declared attribute.
/// Several narrow it (all must hold). `NAME:VALUE`, the API's first spelling, is still read.
public enum LeadSegment {
    public struct Problem: Error, CustomStringConvertible {
        public let text: String
        public let description: String
    }

    /// The filter the texts describe; stages default to every stage but customer unless a
    /// `stage=` segment names one (or `everyStage`, as an enrollment wants).
    public static func filter(_ texts: [String], playbook: Playbook, everyStage: Bool = false) throws(Problem) -> RankingFilter {
        var segments: [RankingFilter.Segment] = []
        var stages: Set<Stage>?
        for text in texts {
            // By scalar: a Character search misses a separator that a combining mark joins to the value.
            let scalars = text.unicodeScalars
            guard let separator = scalars.firstIndex(where: { $0 == "=" || $0 == ":" }), separator != scalars.startIndex else {
                throw Problem(text: text, description: "'\(text)' must be NAME=VALUE, such as industry=SaaS or tag=webinar")
            }
            let name = String(scalars[..<separator]), value = String(scalars[scalars.index(after: separator)...])
            if name == "stage" {
                guard let stage = Stage(name: value) else {
                    throw Problem(text: text, description: "unknown stage '\(value)': use \(Stage.allCases.map(\.name).joined(separator: ", "))")
                }
                stages = (stages ?? []).union([stage])
                continue
            }
            if name == Persona.attribute, !playbook.personas.isEmpty, playbook.persona(value) == nil {
                let declared = playbook.personas.map(\.id)
                throw Problem(text: text, description: "unknown persona '\(value)'" + Suggestion.hint(for: value, among: declared)
                    + " (declared: \(declared.joined(separator: ", ")))")
            }
            guard name == "tag" || playbook.knowsLeadValue(name) else {
                throw Problem(text: text, description: "unknown field '\(name)' (a lead field, tag, stage, or an attribute declared in the playbook)")
            }
            segments.append(RankingFilter.Segment(name: name, value: value))
        }
        let defaultStages = everyStage ? Set(Stage.allCases) : Set(Stage.allCases.filter { $0 != .customer })
        return RankingFilter(stages: stages ?? defaultStages, segments: segments)
    }
}
