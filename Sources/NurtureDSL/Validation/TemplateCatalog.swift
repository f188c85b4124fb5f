/// What `validate` needs to know about the template files, read by the engine from disk.
///
/// The DSL stays free of I/O: the engine parses `Campaigns/Templates/` and hands over this value.
public struct TemplateCatalog: Sendable {
    /// The part of a message a file renders, from its name: `welcome-1.subject.mustache`.
    public enum Part: String, Sendable, Hashable, CaseIterable, Comparable {
        case subject, text, html, sms

        public static func < (lhs: Part, rhs: Part) -> Bool {
            allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
        }
    }

    /// A `{{name}}` in a file, with the sections it sits inside (`{{#brand}}…{{/brand}}`).
    public struct VariableUse: Sendable, Hashable {
        public var name: String
        public var line: Int
        public var sections: [String]
        /// `{{#name}}` or `{{^name}}`: a guard, which a lead without the value simply skips.
        public var opensSection: Bool

        public init(name: String, line: Int, sections: [String] = [], opensSection: Bool = false) {
            self.name = name
            self.line = line
            self.sections = sections
            self.opensSection = opensSection
        }
    }

    public struct File: Sendable {
        /// As printed in diagnostics: `Campaigns/Templates/welcome-1.html.mustache`.
        public var path: String
        public var variables: [VariableUse]
        /// `{{! default first_name = "there" }}` declarations.
        public var defaults: [String: String]
        public var partials: [(name: String, line: Int)]

        public init(path: String, variables: [VariableUse], defaults: [String: String], partials: [(name: String, line: Int)]) {
            self.path = path
            self.variables = variables
            self.defaults = defaults
            self.partials = partials
        }
    }

    /// Message templates by name, then part.
    public var templates: [String: [Part: File]]
    /// Partials (`_footer.html.mustache`) by name, then part: `{{> footer}}` in an HTML part
    /// includes `_footer.html.mustache`.
    public var partials: [String: [Part: File]]
    /// Files that could not be read or parsed, or whose names say nothing Nurture understands.
    public var problems: [Diagnostic]

    public init(templates: [String: [Part: File]] = [:], partials: [String: [Part: File]] = [:], problems: [Diagnostic] = []) {
        self.templates = templates
        self.partials = partials
        self.problems = problems
    }
}
