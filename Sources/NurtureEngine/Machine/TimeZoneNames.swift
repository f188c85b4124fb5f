import Foundation

/// The IANA zone names this machine can really compute local time in: every zone file in the
/// system's tzdata, canonical names and their aliases alike (`Asia/Kolkata` and `Asia/Calcutta`).
/// Foundation's `knownTimeZoneIdentifiers` is not that list on Linux: it lacks `Asia/Kolkata`.
public enum TimeZoneNames {
    /// `TZDIR` when set, as the C library reads it.
    public static var directory: String { ProcessInfo.processInfo.environment["TZDIR"] ?? "/usr/share/zoneinfo" }

    public static let known: Set<String> = {
        var names: Set<String> = ["UTC", "GMT"]
        let root = directory
        guard let walker = FileManager.default.enumerator(atPath: root) else { return names }
        while let path = walker.nextObject() as? String {
            // posix/ and right/ repeat every zone under other rules; the rest are not zones.
            if path.hasPrefix("posix") || path.hasPrefix("right") || ["localtime", "posixrules", "Factory"].contains(path) {
                if path == "posix" || path == "right" { walker.skipDescendants() }
                continue
            }
            guard let handle = FileHandle(forReadingAtPath: root + "/" + path) else { continue }
            let magic = try? handle.read(upToCount: 4)
            try? handle.close()
            if magic == Data("TZif".utf8), TimeZone(identifier: path) != nil { names.insert(path) }
        }
        return names
    }()

    public static func isKnown(_ name: String) -> Bool { known.contains(name) }

    /// The country each zone is in, from tzdata's `zone.tab` (one country per zone, by ISO 3166
    /// code): what a phone number written without a country code takes from the lead's zone.
    public static let countryOfZone: [String: String] = {
        var countries: [String: String] = [:]
        for columns in (try? table("zone.tab")) ?? [] where columns.count >= 3 { countries[columns[2]] = columns[0] }
        return countries
    }()

    /// The zones tzdata's `zone1970.tab` lists (one per region that has kept the same clocks
    /// since 1970), for checks that every real zone is accepted.
    public static func zone1970() throws -> [String] {
        try zone1970Rows().map(\.zone)
    }

    /// `zone1970.tab`'s rows: the countries each zone's clocks are used in, the one it is in first.
    static func zone1970Rows() throws -> [(countries: [String], zone: String)] {
        try table("zone1970.tab").compactMap { columns in
            columns.count >= 3 ? (columns[0].split(separator: ",").map(String.init), columns[2]) : nil
        }
    }

    /// ISO 3166 codes by the names tzdata's `iso3166.tab` gives them, lower-cased, and by themselves.
    public static let countryCodes: [String: String] = {
        var codes: [String: String] = [:]
        let rows = ((try? table("iso3166.tab")) ?? []).filter { $0.count >= 2 }
        for columns in rows { codes[columns[1].lowercased()] = columns[0] }
        // How exports commonly write the few whose tzdata names differ (`Britain (UK)`, `Korea (South)`).
        let aliases = ["usa": "US", "united states of america": "US", "united kingdom": "GB", "great britain": "GB", "britain": "GB",
                       "uk": "GB", "south korea": "KR", "north korea": "KP", "russian federation": "RU"]
        for (alias, code) in aliases where codes.values.contains(code) { codes[alias] = code }
        // A code is itself whatever a name says (`Virgin Islands (US)` must not make "us" mean VI).
        for columns in rows { codes[columns[0].lowercased()] = columns[0] }
        return codes
    }()

    /// A country as written in an export (`DE`, `de`, `Germany`, `United Kingdom`) as its ISO 3166
    /// code, or nil for a name tzdata does not know.
    public static func countryCode(_ written: String) -> String? {
        countryCodes[written.trimmingCharacters(in: .whitespaces).lowercased()]
    }

    /// The zone a country's leads get when they have none: certain when every zone the country
    /// uses keeps the same clocks all year (Germany's Berlin and Büsingen), else a guess.
    public struct CountryZone: Sendable, Hashable {
        public var zone: String
        public var isGuess: Bool
        /// How many differently-kept zones the country has (1 when certain).
        public var clocks: Int
    }

    /// Each country's zone, from `zone1970.tab` (which zones a country uses) and `zone.tab` (the
    /// name a single-zone country's own people use: Norway's `Europe/Oslo`, though its clocks are
    /// Berlin's). For a country with several clocks, the middle zone by UTC offset among those in
    /// the country itself, so a guess is off by at most half the country's span; `preferring`
    /// (the configured default zone) wins when it is one of the country's.
    public static func zone(ofCountry country: String, preferring preferred: String? = nil) -> CountryZone? {
        guard let zones = zonesOfCountry[country], !zones.all.isEmpty else { return nil }
        let clocks = Set(zones.all.map(clock)).count
        if clocks == 1 {
            return CountryZone(zone: zones.own ?? zones.inside.first ?? zones.all[0], isGuess: false, clocks: 1)
        }
        if let preferred, zones.all.contains(preferred) || countryOfZone[preferred] == country {
            return CountryZone(zone: preferred, isGuess: true, clocks: clocks)
        }
        // The middle offset, then the first zone tzdata lists with it (its main one: Chicago, not Indiana/Knox).
        let inside = zones.inside.isEmpty ? zones.all : zones.inside
        let middle = inside.map { clock($0).january }.sorted()[(inside.count - 1) / 2]
        return CountryZone(zone: inside.first { clock($0).january == middle }!, isGuess: true, clocks: clocks)
    }

    /// Zones by country: all that list it, those located in it (listed first), and its only
    /// `zone.tab` zone when it has one.
    static let zonesOfCountry: [String: (all: [String], inside: [String], own: String?)] = {
        var result: [String: (all: [String], inside: [String], own: String?)] = [:]
        for row in (try? zone1970Rows()) ?? [] {
            for (index, country) in row.countries.enumerated() {
                result[country, default: ([], [], nil)].all.append(row.zone)
                if index == 0 { result[country]!.inside.append(row.zone) }
            }
        }
        let own = Dictionary(grouping: countryOfZone, by: \.value).compactMapValues { $0.count == 1 ? $0[0].key : nil }
        for (country, zone) in own where result[country] != nil { result[country]!.own = zone }
        return result
    }()

    /// A zone's offsets in January and July of a fixed year: two zones with equal pairs keep the
    /// same clocks for every purpose a send window has.
    static func clock(_ zone: String) -> Clock {
        guard let zone = TimeZone(identifier: zone) else { return Clock(january: 0, july: 0) }
        return Clock(january: zone.secondsFromGMT(for: Date(timeIntervalSince1970: 1_768_478_400)),
                     july: zone.secondsFromGMT(for: Date(timeIntervalSince1970: 1_784_116_800)))
    }

    struct Clock: Hashable {
        var january: Int
        var july: Int
    }

    static func table(_ name: String) throws -> [[String]] {
        let text = try String(contentsOfFile: directory + "/" + name, encoding: .utf8)
        return text.split(separator: "\n").filter { !$0.hasPrefix("#") }.map { $0.split(separator: "\t").map(String.init) }
    }
}
