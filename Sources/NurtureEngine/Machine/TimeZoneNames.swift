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
        guard let table = try? String(contentsOfFile: directory + "/zone.tab", encoding: .utf8) else { return [:] }
        var countries: [String: String] = [:]
        for line in table.split(separator: "\n") where !line.hasPrefix("#") {
            let columns = line.split(separator: "\t")
            if columns.count >= 3 { countries[String(columns[2])] = String(columns[0]) }
        }
        return countries
    }()

    /// The zones tzdata's `zone1970.tab` lists (one per region that has kept the same clocks
    /// since 1970), for checks that every real zone is accepted.
    public static func zone1970() throws -> [String] {
        let table = try String(contentsOfFile: directory + "/zone1970.tab", encoding: .utf8)
        return table.split(separator: "\n").filter { !$0.hasPrefix("#") }.compactMap { line in
            let columns = line.split(separator: "\t")
            return columns.count >= 3 ? String(columns[2]) : nil
        }
    }
}
