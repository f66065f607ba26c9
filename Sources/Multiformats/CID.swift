import Foundation

/// A content identifier, version 0 or 1.
public struct CID: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// 0 or 1.
    public let version: Int
    /// Multicodec of the content (0x70 for CIDv0).
    public let codec: UInt64
    /// Hash of the content.
    public let multihash: Multihash
    /// Binary form (v0: the multihash; v1: `01 ‖ codec ‖ multihash`).
    public let bytes: [UInt8]

    /// Well-known content codecs.
    public enum Codec {
        /// raw bytes
        public static let raw: UInt64 = 0x55
        /// DAG-PB (UnixFS)
        public static let dagPB: UInt64 = 0x70
        /// DAG-CBOR
        public static let dagCBOR: UInt64 = 0x71
        /// DAG-JSON
        public static let dagJSON: UInt64 = 0x0129
        /// CAR (used for shard and index CIDs)
        public static let car: UInt64 = 0x0202
    }

    /// Errors parsing a CID.
    public enum Error: Swift.Error, Equatable, Sendable, CustomStringConvertible {
        /// The CID bytes are empty or shorter than any CID.
        case truncated
        /// Version other than 0 or 1.
        case unsupportedVersion(UInt64)
        /// CIDv0 must be a 34-byte sha2-256 multihash.
        case invalidV0
        /// Bytes remain after the CID.
        case trailingBytes(Int)
        /// A malformed varint.
        case varint(Varint.Error)
        /// A malformed multihash.
        case multihash(Multihash.Error)
        /// The text form is not valid multibase.
        case multibase(Multibase.Error)
        /// The text form of a CIDv1 must use a multibase prefix; v0 must be base58btc `Qm…`.
        case invalidText(String)

        public var description: String {
            switch self {
            case .truncated: return "CID is truncated"
            case .unsupportedVersion(let v): return "unsupported CID version \(v)"
            case .invalidV0: return "invalid CIDv0 (must be a sha2-256 multihash)"
            case .trailingBytes(let n): return "\(n) unexpected bytes after CID"
            case .varint(let e): return "CID: \(e)"
            case .multihash(let e): return "CID: \(e)"
            case .multibase(let e): return "CID: \(e)"
            case .invalidText(let t): return "not a CID: '\(t.prefix(80))'"
            }
        }
    }

    /// A CIDv1.
    public init(codec: UInt64, multihash: Multihash) {
        self.version = 1
        self.codec = codec
        self.multihash = multihash
        var b: [UInt8] = [1]
        Varint.encode(codec, into: &b)
        b.append(contentsOf: multihash.bytes)
        self.bytes = b
    }

    /// A CIDv0 (dag-pb, sha2-256).
    public init(v0 multihash: Multihash) throws(CID.Error) {
        guard multihash.code == Multihash.sha256Code, multihash.digest.count == 32 else { throw .invalidV0 }
        self.version = 0
        self.codec = Codec.dagPB
        self.multihash = multihash
        self.bytes = multihash.bytes
    }

    /// CIDv1 with the sha2-256 multihash of `data`.
    public static func sha256(codec: UInt64, _ data: some DataProtocol) -> CID {
        CID(codec: codec, multihash: .sha256(data))
    }

    /// Parses the binary CID at the start of `bytes`; returns it and its length.
    public static func decode<C: RandomAccessCollection>(prefixOf bytes: C, at offset: Int = 0) throws(CID.Error) -> (CID, Int)
    where C.Element == UInt8, C.Index == Int {
        guard bytes.endIndex - offset >= 2 else { throw .truncated }
        if bytes[offset] == 0x12 && bytes[offset + 1] == 0x20 {
            guard bytes.endIndex - offset >= 34 else { throw .truncated }
            let mh = Multihash(code: 0x12, digest: Array(bytes[(offset + 2)..<(offset + 34)]))
            return (try CID(v0: mh), 34)
        }
        do {
            let (version, n1) = try Varint.decode(bytes, at: offset)
            guard version == 1 else { throw CID.Error.unsupportedVersion(version) }
            let (codec, n2) = try Varint.decode(bytes, at: offset + n1)
            let (mh, n3) = try Multihash.decode(prefixOf: bytes, at: offset + n1 + n2)
            return (CID(codec: codec, multihash: mh), n1 + n2 + n3)
        } catch let e as CID.Error {
            throw e
        } catch let e as Varint.Error {
            throw .varint(e)
        } catch let e as Multihash.Error {
            throw .multihash(e)
        } catch {
            throw .truncated
        }
    }

    /// Parses a complete binary CID.
    public init(bytes: some Collection<UInt8>) throws(CID.Error) {
        let array = Array(bytes)
        let (cid, n) = try CID.decode(prefixOf: array)
        guard n == array.count else { throw .trailingBytes(array.count - n) }
        self = cid
    }

    /// Parses the text form: `Qm…` (v0) or any supported multibase (v1).
    public init(_ text: String) throws(CID.Error) {
        // Base58 decoding is quadratic: no base58 CID in use comes near 1024 characters, and the bound keeps
        // hostile input cheap. Other bases decode in linear time (identity CIDs embed whole delegations).
        guard text.utf8.count <= 1024 || !(text.hasPrefix("z") || text.hasPrefix("Q")) else { throw .invalidText(String(text.prefix(64))) }
        if text.count == 46 && text.hasPrefix("Qm") {
            do {
                let raw = try Base58.decode(Substring(text))
                self = try CID(bytes: raw)
                return
            } catch let e as CID.Error { throw e } catch let e as Multibase.Error { throw .multibase(e) } catch { throw .invalidText(text) }
        }
        let decoded: (base: Multibase, bytes: [UInt8])
        do { decoded = try Multibase.decode(text) } catch { throw .multibase(error) }
        let cid = try CID(bytes: decoded.bytes)
        guard cid.version == 1 else { throw .invalidText(text) }
        self = cid
    }

    /// Text form: base58btc for v0, base32 (`b…`) for v1.
    public var description: String {
        version == 0 ? Base58.encode(bytes) : Multibase.base32.encode(bytes)
    }

    /// Text form in a chosen multibase (v1 only; v0 is always base58btc).
    public func string(base: Multibase) -> String {
        version == 0 ? Base58.encode(bytes) : base.encode(bytes)
    }

    /// This CID as version 1 (v1 CIDs are returned unchanged).
    public var v1: CID { version == 1 ? self : CID(codec: codec, multihash: multihash) }

    public static func < (lhs: CID, rhs: CID) -> Bool { lhs.bytes.lexicographicallyPrecedes(rhs.bytes) }
}

