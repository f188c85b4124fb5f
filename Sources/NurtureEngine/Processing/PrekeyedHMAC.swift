/// HMAC-SHA256 (RFC 2104, FIPS 180-4) for the short texts of link tokens, with the key's two
/// padded blocks hashed once when the signer is made. Every message signs three to five links;
/// through swift-crypto each token built and dropped two hash contexts and hashed both padded
/// key blocks again, about 4 µs a token and 8% of a scheduling pass. This hashes the token's own
/// bytes only (two or three blocks), on the stack. `LinkSigner.verify` still checks tokens with
/// swift-crypto's HMAC, and a test holds the two to the same output on random keys and texts.
struct PrekeyedHMAC: Sendable {
    /// SHA-256's state after the key XOR ipad block, and after the key XOR opad block.
    private let inner: SHA256State
    private let outer: SHA256State

    init(key: [UInt8]) {
        var block = key.count > 64 ? Array(SHA256State.digest(of: key)) : key
        block += [UInt8](repeating: 0, count: 64 - block.count)
        var inner = SHA256State.initial, outer = SHA256State.initial
        inner.compress(block.map { $0 ^ 0x36 })
        outer.compress(block.map { $0 ^ 0x5C })
        self.inner = inner
        self.outer = outer
    }

    /// The 32-byte authentication code of `message`.
    func code(for message: UnsafeRawBufferPointer) -> SHA256State.Digest {
        let innerDigest = inner.finishing(message, after: 64)
        return withUnsafeBytes(of: innerDigest) { outer.finishing($0, after: 64) }
    }
}

/// The eight working words of SHA-256 and its block function.
struct SHA256State: Sendable {
    typealias Digest = (UInt64, UInt64, UInt64, UInt64)

    private var h: (UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32)

    static let initial = SHA256State(h: (0x6a09_e667, 0xbb67_ae85, 0x3c6e_f372, 0xa54f_f53a, 0x510e_527f, 0x9b05_688c, 0x1f83_d9ab, 0x5be0_cd19))

    private static let k: [UInt32] = [
        0x428a_2f98, 0x7137_4491, 0xb5c0_fbcf, 0xe9b5_dba5, 0x3956_c25b, 0x59f1_11f1, 0x923f_82a4, 0xab1c_5ed5,
        0xd807_aa98, 0x1283_5b01, 0x2431_85be, 0x550c_7dc3, 0x72be_5d74, 0x80de_b1fe, 0x9bdc_06a7, 0xc19b_f174,
        0xe49b_69c1, 0xefbe_4786, 0x0fc1_9dc6, 0x240c_a1cc, 0x2de9_2c6f, 0x4a74_84aa, 0x5cb0_a9dc, 0x76f9_88da,
        0x983e_5152, 0xa831_c66d, 0xb003_27c8, 0xbf59_7fc7, 0xc6e0_0bf3, 0xd5a7_9147, 0x06ca_6351, 0x1429_2967,
        0x27b7_0a85, 0x2e1b_2138, 0x4d2c_6dfc, 0x5338_0d13, 0x650a_7354, 0x766a_0abb, 0x81c2_c92e, 0x9272_2c85,
        0xa2bf_e8a1, 0xa81a_664b, 0xc24b_8b70, 0xc76c_51a3, 0xd192_e819, 0xd699_0624, 0xf40e_3585, 0x106a_a070,
        0x19a4_c116, 0x1e37_6c08, 0x2748_774c, 0x34b0_bcb5, 0x391c_0cb3, 0x4ed8_aa4a, 0x5b9c_ca4f, 0x682e_6ff3,
        0x748f_82ee, 0x78a5_636f, 0x84c8_7814, 0x8cc7_0208, 0x90be_fffa, 0xa450_6ceb, 0xbef9_a3f7, 0xc671_78f2,
    ]

    /// SHA-256 of `bytes`, for a key longer than a block.
    static func digest(of bytes: [UInt8]) -> [UInt8] {
        let digest = bytes.withUnsafeBytes { initial.finishing($0, after: 0) }
        return withUnsafeBytes(of: digest) { Array($0) }
    }

    /// The digest of everything hashed so far (`prefix` bytes, whole blocks) followed by
    /// `message`: the remaining blocks, the padding and the length.
    func finishing(_ message: UnsafeRawBufferPointer, after prefix: Int) -> Digest {
        var state = self
        var offset = 0
        while message.count - offset >= 64 {
            state.compress(UnsafeRawBufferPointer(rebasing: message[offset..<offset + 64]))
            offset += 64
        }
        // The tail, 0x80, zeros, and the length in bits: one block, or two when the tail is long.
        var tail = (UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0),
                    UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0))
        withUnsafeMutableBytes(of: &tail) { block in
            let rest = message.count - offset
            if rest > 0 { block.baseAddress!.copyMemory(from: message.baseAddress! + offset, byteCount: rest) }
            block[rest] = 0x80
            let blocks = rest + 9 > 64 ? 2 : 1
            let bits = UInt64(prefix + message.count) * 8
            for index in 0..<8 { block[blocks * 64 - 1 - index] = UInt8(truncatingIfNeeded: bits >> (8 * UInt64(index))) }
            for start in stride(from: 0, to: blocks * 64, by: 64) { state.compress(UnsafeRawBufferPointer(rebasing: block[start..<start + 64])) }
        }
        // Stored most significant byte first, as a digest's bytes are read.
        let h = state.h
        return ((UInt64(h.0) << 32 | UInt64(h.1)).bigEndian, (UInt64(h.2) << 32 | UInt64(h.3)).bigEndian,
                (UInt64(h.4) << 32 | UInt64(h.5)).bigEndian, (UInt64(h.6) << 32 | UInt64(h.7)).bigEndian)
    }

    mutating func compress(_ block: [UInt8]) {
        block.withUnsafeBytes { compress($0) }
    }

    /// One 64-byte block.
    mutating func compress(_ block: UnsafeRawBufferPointer) {
        var (a, b, c, d, e, f, g, hh) = h
        withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 64) { w in
            for index in 0..<16 {
                w[index] = UInt32(block[index * 4]) << 24 | UInt32(block[index * 4 + 1]) << 16
                    | UInt32(block[index * 4 + 2]) << 8 | UInt32(block[index * 4 + 3])
            }
            for index in 16..<64 {
                let s0 = w[index - 15].rotated(7) ^ w[index - 15].rotated(18) ^ (w[index - 15] >> 3)
                let s1 = w[index - 2].rotated(17) ^ w[index - 2].rotated(19) ^ (w[index - 2] >> 10)
                w[index] = w[index - 16] &+ s0 &+ w[index - 7] &+ s1
            }
            Self.k.withUnsafeBufferPointer { k in
                for index in 0..<64 {
                    let s1 = e.rotated(6) ^ e.rotated(11) ^ e.rotated(25)
                    let choice = (e & f) ^ (~e & g)
                    let t1 = hh &+ s1 &+ choice &+ k[index] &+ w[index]
                    let s0 = a.rotated(2) ^ a.rotated(13) ^ a.rotated(22)
                    let majority = (a & b) ^ (a & c) ^ (b & c)
                    (hh, g, f, e, d, c, b, a) = (g, f, e, d &+ t1, c, b, a, t1 &+ s0 &+ majority)
                }
            }
        }
        h = (h.0 &+ a, h.1 &+ b, h.2 &+ c, h.3 &+ d, h.4 &+ e, h.5 &+ f, h.6 &+ g, h.7 &+ hh)
    }
}

private extension UInt32 {
    func rotated(_ count: UInt32) -> UInt32 { (self >> count) | (self << (32 - count)) }
}
