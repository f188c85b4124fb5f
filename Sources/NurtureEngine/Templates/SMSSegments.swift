/// How many SMS parts a text costs: GSM-7 fits 160 characters in one part and 153 per part when
/// split; anything outside GSM-7 (an emoji, a curly quote) switches the whole text to UCS-2,
/// 70 / 67 per part.
public struct SMSSegments: Sendable, Hashable, CustomStringConvertible {
    public enum Encoding: String, Sendable { case gsm7 = "GSM-7", ucs2 = "UCS-2" }

    public let encoding: Encoding
    /// Septets for GSM-7 (extension characters count two), UTF-16 code units for UCS-2.
    public let units: Int
    public let count: Int

    public init(_ text: String) {
        var septets = 0
        var isGSM = true
        for scalar in text.unicodeScalars {
            if Self.basic.contains(scalar) {
                septets += 1
            } else if Self.extended.contains(scalar) {
                septets += 2
            } else {
                isGSM = false
                break
            }
        }
        if isGSM {
            encoding = .gsm7
            units = septets
            count = septets == 0 ? 0 : septets <= 160 ? 1 : (septets + 152) / 153
        } else {
            encoding = .ucs2
            units = text.utf16.count
            count = units <= 70 ? 1 : (units + 66) / 67
        }
    }

    public var description: String {
        "\(count) segment\(count == 1 ? "" : "s"), \(encoding.rawValue), \(units) \(encoding == .gsm7 ? "chars" : "units")"
    }

    private static let basic: Set<Unicode.Scalar> = Set(
        ("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
            + "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà").unicodeScalars)
    private static let extended: Set<Unicode.Scalar> = Set("^{}\\[~]|€\u{0C}".unicodeScalars)
}
