import Foundation
@testable import NurtureEngine
import Testing

/// Link tokens are signed with a prekeyed HMAC-SHA256 of Nurture's own and checked with
/// swift-crypto's: the two must agree on every key and text, or links would stop working.
struct LinkSignerTests {
    private func hex(_ digest: SHA256State.Digest) -> String {
        withUnsafeBytes(of: digest) { $0.map { String(format: "%02x", $0) }.joined() }
    }

    private func code(key: [UInt8], _ message: [UInt8]) -> String {
        message.withUnsafeBytes { hex(PrekeyedHMAC(key: key).code(for: $0)) }
    }

    /// RFC 4231's HMAC-SHA256 test cases 1, 2, 4, 6 and 7 (a key longer than a block, and a
    /// text longer than a block).
    @Test func matchesTheRFC4231TestVectors() {
        #expect(code(key: [UInt8](repeating: 0x0B, count: 20), Array("Hi There".utf8))
            == "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7")
        #expect(code(key: Array("Jefe".utf8), Array("what do ya want for nothing?".utf8))
            == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        #expect(code(key: Array(1...25), [UInt8](repeating: 0xCD, count: 50))
            == "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b")
        #expect(code(key: [UInt8](repeating: 0xAA, count: 131), Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8))
            == "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54")
        let long = "This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm."
        #expect(code(key: [UInt8](repeating: 0xAA, count: 131), Array(long.utf8))
            == "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2")
    }

    /// Every length around the block and padding edges (55, 56, 63, 64, 119, 120 bytes…), random
    /// keys short and long: what this signer makes, swift-crypto's HMAC accepts.
    @Test func everyTokenVerifiesWithSwiftCryptosHMAC() {
        var generator = SystemRandomNumberGenerator()
        for round in 0..<400 {
            let secret = Data((0..<[0, 1, 16, 32, 63, 64, 65, 100, 200][round % 9]).map { _ in UInt8.random(in: 0...255, using: &generator) })
            let signer = LinkSigner(secret: secret, publicURL: "https://nurture.example")
            let length = round < 200 ? round : Int.random(in: 0...600, using: &generator)
            let payload = String((0..<length).map { _ in "abcxyz019|:/é✓".randomElement(using: &generator)! })
            let token = signer.token(for: payload)
            #expect(signer.verify(token) == payload, "length \(length), key \(secret.count) bytes")
            let other = LinkSigner(secret: secret + Data([1]), publicURL: "https://nurture.example")
            #expect(other.verify(token) == nil)
        }
    }
}
