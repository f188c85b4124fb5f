import Foundation
import Mustache
public import NurtureDSL

/// The message templates of a playbook, read from `Campaigns/Templates/` when Nurture starts, so
/// copy can change without a rebuild.
///
/// Files are named `<template>.<part>.mustache` with part `subject`, `text`, `html` or `sms`;
/// files starting with `_` are partials, included as `{{> footer}}` from the same part.
public struct TemplateLibrary: Sendable {
    public let directory: String
    /// What `validate` checks: every file's variables, defaults, partials and problems.
    public let catalog: TemplateCatalog
    let parsed: [String: [TemplateCatalog.Part: MustacheTemplate]]
    let partialsByPart: [TemplateCatalog.Part: MustacheLibrary]
    /// The same templates compiled for rendering; a template a plan cannot express has none and
    /// renders through swift-mustache.
    let plans: [String: [TemplateCatalog.Part: RenderPlan]]
    /// Each file's text digest by `name.part` (partials keep their `_`): what a deployment
    /// records, so a copy edit is a new playbook like a campaign edit.
    public let digests: [String: String]

    public struct LoadError: Error, CustomStringConvertible {
        public let directory: String
        public let reason: String
        public var description: String { "cannot read templates in \(directory): \(reason)" }
    }

    /// Reads every template in `directory`. Files that do not parse are reported in
    /// `catalog.problems` and left out; only an unreadable directory throws.
    public static func load(from directory: String) throws -> TemplateLibrary {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
        } catch {
            throw LoadError(directory: directory, reason: "no such directory or not readable")
        }
        var catalog = TemplateCatalog()
        var parsed: [String: [TemplateCatalog.Part: MustacheTemplate]] = [:]
        var partials: [TemplateCatalog.Part: [String: MustacheTemplate]] = [:]
        var sources: [String: [TemplateCatalog.Part: String]] = [:]
        var partialSources: [TemplateCatalog.Part: [String: String]] = [:]
        var digests: [String: String] = [:]
        for fileName in names where !fileName.hasPrefix(".") {
            let path = (directory as NSString).appendingPathComponent(fileName)
            let location = Step.Location(file: path, line: 1)
            guard fileName.hasSuffix(".mustache") else {
                catalog.problems.append(.warning(at: location, "'\(fileName)' is not a template (names end in .subject/.text/.html/.sms.mustache)"))
                continue
            }
            let stem = String(fileName.dropLast(".mustache".count))
            guard let dot = stem.lastIndex(of: "."), let part = TemplateCatalog.Part(rawValue: String(stem[stem.index(after: dot)...])),
                  dot > stem.startIndex
            else {
                catalog.problems.append(.error(at: location, "cannot tell which part '\(fileName)' is: name it <template>.subject|text|html|sms.mustache"))
                continue
            }
            let name = String(stem[..<dot])
            guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
                catalog.problems.append(.error(at: location, "cannot read '\(fileName)' as UTF-8 text"))
                continue
            }
            digests[stem] = CampaignSources.digest(data)
            let scan = TemplateScanner.scan(text)
            for problem in scan.problems {
                catalog.problems.append(.error(at: Step.Location(file: path, line: problem.line), problem.message))
            }
            let template: MustacheTemplate
            do {
                // The pragma gets a line of its own so a first-line comment stays standalone (and
                // vanishes with its newline); parser lines are shifted back by that one line.
                template = try MustacheTemplate(string: part.pragma + "\n" + text)
                if name.hasPrefix("_") {
                    partialSources[part, default: [:]][String(name.dropFirst())] = part.pragma + "\n" + text
                } else {
                    sources[name, default: [:]][part] = part.pragma + "\n" + text
                }
            } catch let error as MustacheTemplate.ParserError {
                if scan.problems.isEmpty {
                    let line = max(1, error.context.lineNumber - 1)
                    catalog.problems.append(.error(at: Step.Location(file: path, line: line), "template does not parse: \(error.error)"))
                }
                continue
            } catch {
                catalog.problems.append(.error(at: location, "template does not parse: \(error)"))
                continue
            }
            let file = TemplateCatalog.File(path: path, variables: scan.variables, defaults: scan.defaults, partials: scan.partials)
            if name.hasPrefix("_") {
                let partialName = String(name.dropFirst())
                catalog.partials[partialName, default: [:]][part] = file
                partials[part, default: [:]][partialName] = template
            } else {
                catalog.templates[name, default: [:]][part] = file
                parsed[name, default: [:]][part] = template
            }
        }
        var plans: [String: [TemplateCatalog.Part: RenderPlan]] = [:]
        for (name, parts) in sources {
            for (part, source) in parts {
                guard let file = catalog.templates[name]?[part] else { continue }
                plans[name, default: [:]][part] = RenderPlan.compile(
                    source, part: part, partials: partialSources[part] ?? [:], defaults: catalog.defaults(of: file, part: part))
            }
        }
        return TemplateLibrary(
            directory: directory, catalog: catalog, parsed: parsed,
            partialsByPart: partials.mapValues { MustacheLibrary(templates: $0) }, plans: plans, digests: digests)
    }

    public func has(_ template: String, part: TemplateCatalog.Part) -> Bool { parsed[template]?[part] != nil }
}

extension TemplateCatalog {
    /// The defaults a file declares, with those of the partials it includes (its own win).
    func defaults(of file: File, part: Part, seen: Set<String> = []) -> [String: String] {
        var all = file.defaults
        for partial in file.partials where !seen.contains(partial.name) {
            if let included = partials[partial.name]?[part] {
                all.merge(defaults(of: included, part: part, seen: seen.union([partial.name]))) { mine, _ in mine }
            }
        }
        return all
    }
}

extension TemplateCatalog.Part {
    /// Only HTML parts escape values; subjects, plain text and SMS must show `&` as `&`.
    var pragma: String {
        guard self == .html else { return "{{%CONTENT_TYPE:TEXT}}" }
        _ = StrictHTML.registered
        return "{{%CONTENT_TYPE:\(StrictHTML.name)}}"
    }
}

/// HTML escaping that includes the apostrophe: Mustache's own leaves `'` as it is, so a value
/// such as `O'Brien` could end a single-quoted attribute a template author wrote.
struct StrictHTML: MustacheContentType {
    static let name = "NURTURE_HTML"
    static let registered: Void = MustacheContentTypes.register(StrictHTML(), named: name)

    func escapeText(_ text: String) -> String { HTMLFromText.escape(text) }
}
