/// Normalises phone numbers to E.164 (`+351912345678`), the only form SMS providers accept.
public enum PhoneNumber {
    public struct Invalid: Error, CustomStringConvertible {
        public let description: String
    }

    /// `+44 (0)20 7946 0958`, `0044 20 7946 0958` and, with default country GB, `020 7946 0958`
    /// all become `+442079460958`.
    public static func e164(_ raw: String, defaultCountry: String? = nil) throws(Invalid) -> String {
        var text = raw.trimmed
        guard !text.isEmpty else { throw Invalid(description: "is empty") }
        // "(0)" is the trunk prefix written inside international numbers.
        text = text.replacingOccurrences(of: "(0)", with: "")
        var digits = ""
        var international = false
        for (index, character) in text.enumerated() {
            if character == "+" && index == 0 {
                international = true
            } else if character.isASCII && character.isNumber {
                digits.append(character)
            } else if " -.()/".contains(character) {
                continue
            } else {
                throw Invalid(description: "'\(raw)' has a character that is not part of a phone number")
            }
        }
        if !international, digits.hasPrefix("00") {
            international = true
            digits.removeFirst(2)
        }
        if !international {
            guard let country = defaultCountry?.uppercased() else {
                throw Invalid(description: "'\(raw)' has no country code, and the row has no country or time zone to take one from: write it as +<country code>…, or pass --default-country")
            }
            guard let code = callingCodes[country] else {
                throw Invalid(description: "unknown default country '\(country)'")
            }
            if digits.hasPrefix("0") && country != "IT" { digits.removeFirst() }
            digits = code + digits
        }
        guard (8...15).contains(digits.count), digits.first != "0" else {
            throw Invalid(description: "'\(raw)' is not a valid international number (E.164 has 8 to 15 digits)")
        }
        return "+" + digits
    }

    /// Country calling codes by ISO 3166 alpha-2 code, for numbers written without one.
    static let callingCodes: [String: String] = [
        "US": "1", "CA": "1", "GB": "44", "UK": "44", "IE": "353", "FR": "33", "DE": "49", "ES": "34", "PT": "351", "IT": "39",
        "NL": "31", "BE": "32", "LU": "352", "CH": "41", "AT": "43", "DK": "45", "SE": "46", "NO": "47", "FI": "358", "IS": "354",
        "PL": "48", "CZ": "420", "SK": "421", "HU": "36", "RO": "40", "BG": "359", "GR": "30", "HR": "385", "SI": "386",
        "EE": "372", "LV": "371", "LT": "370", "UA": "380", "TR": "90", "IL": "972", "AE": "971", "SA": "966", "EG": "20",
        "ZA": "27", "NG": "234", "KE": "254", "MA": "212", "IN": "91", "PK": "92", "BD": "880", "SG": "65", "MY": "60",
        "ID": "62", "TH": "66", "VN": "84", "PH": "63", "CN": "86", "HK": "852", "TW": "886", "JP": "81", "KR": "82",
        "AU": "61", "NZ": "64", "MX": "52", "BR": "55", "AR": "54", "CL": "56", "CO": "57", "PE": "51",
    ]

    /// Where a calling code is shared (+1 by the US and Canada), the country most of its numbers
    /// belong to; a lead's zone taken from such a number is a guess.
    static let sharedCodeHome = ["1": "US", "44": "GB"]

    /// The country an E.164 number belongs to, by its calling code (the longest that matches), and
    /// whether that code is shared with other countries.
    public static func country(of e164: String) -> (country: String, shared: Bool)? {
        guard e164.hasPrefix("+") else { return nil }
        let digits = e164.dropFirst()
        for length in stride(from: 3, through: 1, by: -1) where digits.count > length {
            let code = String(digits.prefix(length))
            let countries = callingCodes.filter { $0.value == code && $0.key != "UK" }.map(\.key)
            if countries.count == 1 { return (countries[0], false) }
            if let home = sharedCodeHome[code] { return (home, true) }
        }
        return nil
    }
}
