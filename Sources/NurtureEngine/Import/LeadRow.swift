import Foundation
public import NurtureDSL

/// Turns CSV records into lead patches: maps headers, validates each field, and says exactly
/// what is wrong with a row it rejects.
public struct LeadRowParser: Sendable {
    public enum Column: Sendable, Hashable {
        case email, phone, firstName, lastName, company, jobTitle, industry, companySize, country, timeZone, source
        case emailConsent, smsConsent
        case attribute(String)
    }

    public struct Rejection: Error, Sendable, Hashable, CustomStringConvertible {
        public var field: String
        public var reason: String
        public var description: String { "\(field): \(reason)" }
    }

    /// A field the row was imported without: its column (1-based), its name and why.
    public struct FieldWarning: Sendable, Hashable, CustomStringConvertible {
        public var column: Int
        public var field: String
        public var reason: String
        public var description: String { "\(field): \(reason); imported without it" }
    }

    /// A row's lead, and the fields it had to leave out.
    public struct ParsedRow: Sendable {
        public var patch: LeadPatch
        public var warnings: [FieldWarning]
    }

    public let columns: [Column]
    public let header: [String]
    let attributes: [String: AttributeType]
    let defaultCountry: String?
    let source: String?

    /// Columns that are always known, by the names people give them.
    static let aliases: [String: Column] = [
        "email": .email, "e_mail": .email, "email_address": .email,
        "phone": .phone, "mobile": .phone, "phone_number": .phone,
        "first_name": .firstName, "firstname": .firstName, "given_name": .firstName,
        "last_name": .lastName, "lastname": .lastName, "surname": .lastName, "family_name": .lastName,
        "company": .company, "organisation": .company, "organization": .company,
        "job_title": .jobTitle, "title": .jobTitle,
        "industry": .industry, "company_size": .companySize, "employees": .companySize,
        "country": .country, "timezone": .timeZone, "time_zone": .timeZone, "tz": .timeZone,
        "source": .source, "lead_source": .source,
        "email_consent": .emailConsent, "sms_consent": .smsConsent,
    ]

    public struct HeaderProblem: Error, CustomStringConvertible {
        public let description: String
    }

    public init(header: [String], playbook: Playbook, defaultCountry: String?, source: String?) throws {
        self.header = header
        var columns: [Column] = []
        var seen: Set<String> = []
        for (index, raw) in header.enumerated() {
            if let problem = InputText.problem(in: raw) {
                throw HeaderProblem(description: "the header's column \(index + 1) name \(problem)")
            }
            let name = Self.normalised(raw)
            guard !name.isEmpty else { throw HeaderProblem(description: "the header has an empty column name") }
            guard seen.insert(name).inserted else { throw HeaderProblem(description: "the header names '\(name)' twice") }
            columns.append(Self.aliases[name] ?? .attribute(name))
        }
        guard columns.contains(.email) else {
            throw HeaderProblem(description: "the header has no email column (found: \(header.joined(separator: ", ")))")
        }
        self.columns = columns
        attributes = Dictionary(playbook.attributes.map { ($0.name, $0.type) }) { a, _ in a }
        self.defaultCountry = defaultCountry
        self.source = source
    }

    /// A column name as the parser matches it: `First Name` and `first-name` are `first_name`.
    public static func normalised(_ name: String) -> String {
        name.trimmed.lowercased().replacingOccurrences(of: " ", with: "_").replacingOccurrences(of: "-", with: "_")
    }

    /// The names the header maps to a built-in column, aliases included.
    public static var builtInColumns: [String: Column] { aliases }

    /// A row as a lead. Only its identity can reject it (the email: leads are kept by it); a bad
    /// optional field (a phone, a size, a zone, a flag, a typed attribute) costs that field
    /// alone, with a warning. A phone without a country code takes the row's country, else the
    /// country of the row's time zone, else the import's default country.
    public func patch(from fields: [String]) -> Result<ParsedRow, Rejection> {
        guard fields.count == columns.count else {
            return .failure(Rejection(field: "row", reason: "has \(fields.count) fields, the header has \(columns.count)"))
        }
        guard let emailIndex = columns.firstIndex(of: .email) else { return .failure(Rejection(field: "email", reason: "missing")) }
        if let problem = InputText.problem(in: fields[emailIndex], .singleLine) {
            return .failure(Rejection(field: Self.normalised(header[emailIndex]), reason: problem))
        }
        let email = fields[emailIndex].trimmed
        guard Self.isPlausibleEmail(email) else {
            return .failure(Rejection(field: "email", reason: email.isEmpty ? "is empty" : "'\(email)' is not an email address"))
        }
        var patch = LeadPatch(email: email)
        patch.source = source
        var warnings: [FieldWarning] = []
        var phone: (raw: String, column: Int)?
        for (index, (column, raw)) in zip(columns, fields).enumerated() where index != emailIndex {
            func warn(_ reason: String, field: String? = nil) {
                warnings.append(FieldWarning(column: index + 1, field: field ?? Self.normalised(header[index]), reason: reason))
            }
            if let problem = InputText.problem(in: raw, column.allowsFreeText(attributes) ? .freeText : .singleLine) {
                warn(problem)
                continue
            }
            let value = raw.trimmed
            if value.isEmpty { continue }
            switch column {
            case .email: continue
            case .phone: phone = (value, index + 1)
            case .firstName: patch.firstName = value
            case .lastName: patch.lastName = value
            case .company: patch.company = value
            case .jobTitle: patch.jobTitle = value
            case .industry: patch.industry = value
            case .companySize:
                guard let size = Int(value.contains(",") ? value.filter { $0 != "," } : value), size >= 0 else {
                    warn("'\(value)' is not a whole number", field: "company_size")
                    continue
                }
                patch.companySize = size
            case .country:
                guard let code = TimeZoneNames.countryCode(value) else {
                    warn("'\(value)' is not a country (an ISO 3166 code such as DE, or a name such as Germany)", field: "country")
                    continue
                }
                patch.country = code
            case .timeZone:
                guard TimeZoneNames.isKnown(value) else {
                    warn("'\(value)' is not an IANA time zone (such as Europe/Lisbon)", field: "timezone")
                    continue
                }
                patch.timeZone = value
            case .source: patch.source = value
            case .emailConsent, .smsConsent:
                let name = column == .emailConsent ? "email_consent" : "sms_consent"
                guard case .bool(let granted) = Value(parsing: value, as: .bool) else {
                    warn("'\(value)' is not yes or no", field: name)
                    continue
                }
                if column == .emailConsent { patch.emailConsent = granted } else { patch.smsConsent = granted }
            case .attribute(let name):
                let type = attributes[name] ?? .string
                guard let typed = Value(parsing: value, as: type) else {
                    warn("'\(value)' is not a \(type.rawValue)", field: name)
                    continue
                }
                patch.attributes[name] = typed
            }
        }
        if let phone {
            // The row's own country first, then its zone's, then the import's.
            let country = [patch.country.flatMap { PhoneNumber.callingCodes[$0] != nil ? $0 : nil },
                           patch.timeZone.flatMap { TimeZoneNames.countryOfZone[$0] }, defaultCountry].compactMap { $0 }.first
            do {
                patch.phone = try PhoneNumber.e164(phone.raw, defaultCountry: country)
            } catch {
                warnings.append(FieldWarning(column: phone.column, field: "phone", reason: error.description))
            }
        }
        return .success(ParsedRow(patch: patch, warnings: warnings))
    }

    /// A practical check, not RFC 5322: one @, a local part of at most 64 bytes, a dotted
    /// domain of letters, digits and hyphens, no spaces or brackets. Runs on UTF-8 bytes.
    public static func isPlausibleEmail(_ text: String) -> Bool {
        var at: Int?
        var index = 0
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "@"):
                if at != nil { return false }
                at = index
            case 0...0x20, UInt8(ascii: ","), UInt8(ascii: "<"), UInt8(ascii: ">"), UInt8(ascii: "\""), 0x7F:
                return false
            default:
                break
            }
            index += 1
        }
        guard let at, at > 0, at <= 64 else { return false }
        let domain = text.utf8.dropFirst(at + 1)
        guard domain.count >= 3, domain.count <= 253, domain.first != UInt8(ascii: "."), domain.last != UInt8(ascii: ".") else { return false }
        var sawDot = false, previousDot = false
        for byte in domain {
            let isDot = byte == UInt8(ascii: ".")
            if isDot && previousDot { return false }
            sawDot = sawDot || isDot
            previousDot = isDot
            let allowed = isDot || byte == UInt8(ascii: "-") || (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
                || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z")) || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
                || byte >= 0x80   // internationalised domain names
            if !allowed { return false }
        }
        return sawDot
    }
}

extension LeadRowParser.Column {
    /// Company, job title, industry and string attributes may span lines (CRM exports carry
    /// quoted multi-line cells); names, addresses, zones and flags are one line.
    func allowsFreeText(_ attributes: [String: AttributeType]) -> Bool {
        switch self {
        case .company, .jobTitle, .industry: true
        case .attribute(let name): (attributes[name] ?? .string) == .string
        default: false
        }
    }
}
