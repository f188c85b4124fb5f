/// The Swift files of `Campaigns/` a binary was built from, one digest each, so the CLI can tell
/// a marketer that a campaign edited on disk is not the one the binary runs. Pure: the callers
/// read the files (the build plugin's tool at build time, the CLI at run time).
public enum CampaignSources {
    /// FNV-1a, 64 bits, as 16 hex digits: enough to tell an edited file from the one built.
    public static func digest<Bytes: Sequence>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        let hex = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }

    /// What differs between the files a binary was built from and those on disk (paths relative
    /// to `Campaigns/`): edited, added and removed files, each sorted.
    public struct Difference: Sendable, Hashable {
        public var edited: [String] = []
        public var added: [String] = []
        public var removed: [String] = []

        public var isEmpty: Bool { edited.isEmpty && added.isEmpty && removed.isEmpty }

        public init(built: [String: String], onDisk: [String: String]) {
            edited = built.keys.filter { onDisk[$0] != nil && onDisk[$0] != built[$0] }.sorted()
            added = onDisk.keys.filter { built[$0] == nil }.sorted()
            removed = built.keys.filter { onDisk[$0] == nil }.sorted()
        }

        /// `Welcome.swift edited, Sunset.swift added` with the folder named.
        public func summary(folder: String) -> String {
            (edited.map { "\(folder)/\($0) edited" } + added.map { "\(folder)/\($0) added" } + removed.map { "\(folder)/\($0) removed" })
                .joined(separator: ", ")
        }
    }
}
