public import NurtureDSL

/// Assigns A/B variants deterministically: the same lead always lands in the same variant of the
/// same step, on every machine and every run, so previews, retries and reports agree.
public enum VariantChoice {
    public static func choose(_ variants: [Message.Variant], leadID: String, campaignID: String, stepID: String) -> Message.Variant? {
        guard !variants.isEmpty else { return nil }
        let total = variants.reduce(0) { $0 + max(0, $1.weight) }
        guard total > 0 else { return variants[0] }
        var bucket = Int(fnv1a("\(leadID)|\(campaignID)|\(stepID)") % UInt64(total))
        for variant in variants {
            bucket -= max(0, variant.weight)
            if bucket < 0 { return variant }
        }
        return variants[variants.count - 1]
    }

    /// FNV-1a, 64 bits: stable across processes, unlike `Hasher`, which is seeded per run.
    static func fnv1a(_ text: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        return hash
    }
}
