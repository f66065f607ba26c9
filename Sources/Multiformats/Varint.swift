/// Unsigned LEB128 varints as used by multiformats (at most 9 bytes, values below 2^63).
public enum Varint {
    /// Largest value a multiformats varint may carry (2^63 - 1).
    public static let maxValue: UInt64 = (1 << 63) - 1

    /// Errors decoding a varint.
    public enum Error: Swift.Error, Equatable, Sendable, CustomStringConvertible {
        /// The input ended in the middle of a varint that started at `offset`.
        case truncated(offset: Int)
        /// The varint at `offset` used more bytes than its value needs, or more than 9.
        case notMinimal(offset: Int)
        /// The varint at `offset` encodes a value of 2^63 or more.
        case tooLarge(offset: Int)

        public var description: String {
            switch self {
            case .truncated(let o): return "truncated varint at byte \(o)"
            case .notMinimal(let o): return "over-long (non-minimal) varint at byte \(o)"
            case .tooLarge(let o): return "varint at byte \(o) exceeds 2^63-1"
            }
        }
    }

    /// Number of bytes `value` takes when encoded.
    @inlinable
    public static func encodedLength(_ value: UInt64) -> Int {
        var v = value
        var n = 1
        while v >= 0x80 { v >>= 7; n += 1 }
        return n
    }

    /// Appends the encoding of `value` to `out`.
    @inlinable
    public static func encode(_ value: UInt64, into out: inout [UInt8]) {
        var v = value
        while v >= 0x80 {
            out.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        out.append(UInt8(v))
    }

    /// The encoding of `value`.
    @inlinable
    public static func encode(_ value: UInt64) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(encodedLength(value))
        encode(value, into: &out)
        return out
    }

    /// Decodes a varint from `bytes` starting at `offset`; returns the value and the byte count used.
    public static func decode<C: RandomAccessCollection>(_ bytes: C, at offset: C.Index) throws(Varint.Error) -> (value: UInt64, length: Int)
    where C.Element == UInt8, C.Index == Int {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        var i = offset
        while true {
            guard i < bytes.endIndex else { throw .truncated(offset: offset - bytes.startIndex) }
            let byte = bytes[i]
            let count = i - offset + 1
            if count > 9 { throw .notMinimal(offset: offset - bytes.startIndex) }
            value |= UInt64(byte & 0x7f) << shift
            if byte & 0x80 == 0 {
                if count > 1 && byte == 0 { throw .notMinimal(offset: offset - bytes.startIndex) }
                if value > maxValue { throw .tooLarge(offset: offset - bytes.startIndex) }
                return (value, count)
            }
            shift += 7
            i += 1
        }
    }
}
