import Foundation
import Crypto

/// A self-describing hash: `varint(code) ‖ varint(length) ‖ digest`.
public struct Multihash: Hashable, Sendable, CustomStringConvertible {
    /// Multicodec of the hash function.
    public let code: UInt64
    /// The digest bytes.
    public let digest: [UInt8]

    /// sha2-256 (0x12).
    public static let sha256Code: UInt64 = 0x12
    /// identity (0x00): the "digest" is the data itself.
    public static let identityCode: UInt64 = 0x00
    /// murmur3-x64-64 (0x22), used for UnixFS HAMT keys.
    public static let murmur3x64_64Code: UInt64 = 0x22

    /// Errors decoding a multihash.
    public enum Error: Swift.Error, Equatable, Sendable, CustomStringConvertible {
        /// A varint inside the multihash is malformed.
        case varint(Varint.Error)
        /// The declared digest length does not match the bytes present.
        case lengthMismatch(declared: UInt64, available: Int)

        public var description: String {
            switch self {
            case .varint(let e): return "multihash: \(e)"
            case .lengthMismatch(let d, let a): return "multihash declares \(d) digest bytes but \(a) are present"
            }
        }
    }

    /// Creates a multihash from its parts.
    public init(code: UInt64, digest: [UInt8]) {
        self.code = code
        self.digest = digest
    }

    /// The sha2-256 multihash of `data`.
    public static func sha256(_ data: some DataProtocol) -> Multihash {
        Multihash(code: sha256Code, digest: Array(SHA256.hash(data: data)))
    }

    /// The sha2-256 multihash of a finished hasher.
    public static func sha256(_ digest: SHA256.Digest) -> Multihash {
        Multihash(code: sha256Code, digest: Array(digest))
    }

    /// The identity multihash of `data`.
    public static func identity(_ data: [UInt8]) -> Multihash {
        Multihash(code: identityCode, digest: data)
    }

    /// Binary form.
    public var bytes: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(digest.count + 4)
        Varint.encode(code, into: &out)
        Varint.encode(UInt64(digest.count), into: &out)
        out.append(contentsOf: digest)
        return out
    }

    /// Parses a multihash at the start of `bytes`; returns it and the number of bytes used.
    public static func decode<C: RandomAccessCollection>(prefixOf bytes: C, at offset: Int) throws(Multihash.Error) -> (Multihash, Int)
    where C.Element == UInt8, C.Index == Int {
        do {
            let (code, n1) = try Varint.decode(bytes, at: offset)
            let (len, n2) = try Varint.decode(bytes, at: offset + n1)
            let start = offset + n1 + n2
            let available = bytes.endIndex - start
            guard len <= UInt64(available) else { throw Multihash.Error.lengthMismatch(declared: len, available: available) }
            let digest = Array(bytes[start..<(start + Int(len))])
            return (Multihash(code: code, digest: digest), n1 + n2 + Int(len))
        } catch let e as Varint.Error {
            throw .varint(e)
        } catch let e as Multihash.Error {
            throw e
        } catch {
            throw .lengthMismatch(declared: 0, available: 0)
        }
    }

    /// Parses a complete multihash; trailing bytes are an error.
    public init(bytes: [UInt8]) throws(Multihash.Error) {
        let (mh, n) = try Multihash.decode(prefixOf: bytes, at: 0)
        guard n == bytes.count else { throw .lengthMismatch(declared: UInt64(mh.digest.count), available: bytes.count - n + mh.digest.count) }
        self = mh
    }

    /// `true` when `data` hashes to this multihash (sha2-256 and identity are supported).
    public func verifies(_ data: some DataProtocol) -> Bool {
        switch code {
        case Multihash.sha256Code: return Array(SHA256.hash(data: data)) == digest
        case Multihash.identityCode: return digest.elementsEqual(data)
        default: return false
        }
    }

    /// base58btc of the binary form (the `z…` form the CLI prints for blobs).
    public var description: String { Multibase.base58btc.encode(bytes) }
}
