import Foundation

/// Random names for files and rows, as the text of a version-4 UUID.
///
/// Drawn from the system's random source in two 64-bit reads; on Linux, Foundation's `UUID()` opens, reads and
/// closes `/dev/urandom` for each one, which a request that names two things pays twice.
public enum UniqueName {
    /// A new name, e.g. `"0B1E42F7-3C5D-4A8B-9E61-27D0C4F8A913"`.
    public static func make() -> String {
        var random = SystemRandomNumberGenerator()
        // Version 4 in the high nibble of byte 6, variant 10 in the top bits of byte 8 (RFC 9562).
        let high = (random.next() as UInt64) & ~0xF000 | 0x4000
        let low = (random.next() as UInt64) & ~(0xC0 << 56) | (0x80 << 56)
        let uuid = withUnsafeBytes(of: (high.bigEndian, low.bigEndian)) { $0.loadUnaligned(as: uuid_t.self) }
        return UUID(uuid: uuid).uuidString
    }
}
