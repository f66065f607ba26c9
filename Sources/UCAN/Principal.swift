import Crypto
import Foundation
import Multiformats

/// Something that can check signatures made by a DID.
public protocol Verifier: Sendable {
    /// The DID whose signatures this verifies.
    var did: DID { get }
    /// `true` if `signature` is valid for `payload`.
    func verify(_ payload: [UInt8], signature: UCANSignature) -> Bool
}

/// Something that signs as a DID.
public protocol Signer: Sendable {
    /// The DID it signs as.
    var did: DID { get }
    /// JWT `alg` of its signatures.
    var signatureAlgorithm: String { get }
    /// Signs `payload`.
    func sign(_ payload: [UInt8]) throws(UCANError) -> UCANSignature
}

/// An Ed25519 key pair: the ucanto signer with its `did:key`.
public struct Ed25519Signer: Signer, Hashable {
    /// 32-byte RFC 8032 private key (seed).
    public let seed: [UInt8]
    /// 32-byte public key.
    public let publicKey: [UInt8]
    /// `did:key:z6Mk…`.
    public let did: DID
    public var signatureAlgorithm: String { "EdDSA" }
    /// The expanded key, kept so that signing does not derive it from the seed again each time.
    private let key: SigningKey

    /// Multicodec of an Ed25519 private key (0x1300).
    public static let privateKeyCode: UInt64 = 0x1300
    /// Multicodec of an Ed25519 public key (0xed).
    public static let publicKeyCode: UInt64 = 0xed

    /// The key pair for a 32-byte seed.
    public init(seed: [UInt8]) throws(UCANError) {
        guard seed.count == 32 else { throw .invalidKey("an Ed25519 seed has 32 bytes, not \(seed.count)") }
        do { self.init(key: try Curve25519.Signing.PrivateKey(rawRepresentation: seed)) } catch { throw .invalidKey("\(error)") }
    }

    init(key: Curve25519.Signing.PrivateKey) {
        self.key = SigningKey(key: key)
        self.seed = Array(key.rawRepresentation)
        self.publicKey = Array(key.publicKey.rawRepresentation)
        self.did = Ed25519Verifier.did(publicKey: publicKey)
    }

    /// A fresh random key pair.
    public static func generate() -> Ed25519Signer { Ed25519Signer(key: Curve25519.Signing.PrivateKey()) }

    /// The 68-byte ucanto form: `varint(0x1300) ‖ seed ‖ varint(0xed) ‖ public key`.
    public var bytes: [UInt8] {
        Varint.encode(Ed25519Signer.privateKeyCode) + seed + Varint.encode(Ed25519Signer.publicKeyCode) + publicKey
    }

    /// Parses the 68-byte form, checking that the public key matches the seed.
    public init(bytes: [UInt8]) throws(UCANError) {
        guard bytes.count == 68, Array(bytes[0..<2]) == [0x80, 0x26], Array(bytes[34..<36]) == [0xed, 0x01] else {
            throw .invalidKey("not an Ed25519 private key (expected 68 bytes starting 0x8026)")
        }
        try self.init(seed: Array(bytes[2..<34]))
        guard publicKey == Array(bytes[36..<68]) else { throw .invalidKey("public key does not match the private key") }
    }

    /// The `M…` multibase base64pad string (`storacha key create`).
    public func format() -> String { Multibase.base64pad.encode(bytes) }

    /// Parses an `M…` key string (any supported multibase is accepted).
    public init(parsing text: String) throws(UCANError) {
        let decoded: (base: Multibase, bytes: [UInt8])
        do { decoded = try Multibase.decode(text.trimmingCharacters(in: .whitespacesAndNewlines)) } catch {
            throw .invalidKey("not a multibase key string: \(error)")
        }
        try self.init(bytes: decoded.bytes)
    }

    /// The verifier for this key.
    public var verifier: Ed25519Verifier { Ed25519Verifier(did: did, publicKey: publicKey) }

    public func sign(_ payload: [UInt8]) throws(UCANError) -> UCANSignature {
        do {
            let raw = Array(try key.key.signature(for: payload))
            return try UCANSignature(code: UCANSignature.edDSA, raw: raw)
        } catch let e as UCANError {
            throw e
        } catch {
            throw .signingFailed("\(error)")
        }
    }

    /// This key signing as another DID (a `did:web` service identity).
    public func withDID(_ did: DID) -> DIDSigner { DIDSigner(did: did, key: self) }

    public static func == (a: Ed25519Signer, b: Ed25519Signer) -> Bool { a.seed == b.seed && a.did == b.did }

    public func hash(into hasher: inout Hasher) { hasher.combine(seed) }
}

/// A private key that is never changed once made, so that sharing it between tasks is safe (swift-crypto does
/// not mark it `Sendable` on Linux).
private final class SigningKey: @unchecked Sendable {
    let key: Curve25519.Signing.PrivateKey
    init(key: Curve25519.Signing.PrivateKey) { self.key = key }
}

/// An Ed25519 key that signs under another DID (for example `did:web:up.storacha.network`).
public struct DIDSigner: Signer, Hashable {
    /// The DID it signs as.
    public let did: DID
    /// The key behind it.
    public let key: Ed25519Signer
    public var signatureAlgorithm: String { "EdDSA" }

    public func sign(_ payload: [UInt8]) throws(UCANError) -> UCANSignature { try key.sign(payload) }

    /// A verifier for this identity.
    public var verifier: Ed25519Verifier { Ed25519Verifier(did: did, publicKey: key.publicKey) }
}

/// The "absentee" signer of a did:mailto account: it produces the empty non-standard signature.
public struct AbsenteeSigner: Signer, Hashable {
    /// The account DID.
    public let did: DID
    public var signatureAlgorithm: String { "" }

    /// An absentee for `did`.
    public init(did: DID) { self.did = did }

    public func sign(_ payload: [UInt8]) throws(UCANError) -> UCANSignature { .absent }
}

/// Verifies Ed25519 signatures, for a `did:key` or for another DID bound to an Ed25519 key.
public struct Ed25519Verifier: Verifier, Hashable {
    /// The DID.
    public let did: DID
    /// 32-byte public key.
    public let publicKey: [UInt8]

    /// `did:key:` of an Ed25519 public key.
    public static func did(publicKey: [UInt8]) -> DID {
        DID(stringLiteral: "did:key:" + Multibase.base58btc.encode([0xed, 0x01] + publicKey))
    }

    /// A verifier for an explicit DID and key.
    public init(did: DID, publicKey: [UInt8]) {
        self.did = did
        self.publicKey = publicKey
    }

    /// Parses an Ed25519 `did:key`.
    public init(didKey: DID) throws(UCANError) {
        guard didKey.isKey else { throw .invalidDID("\(didKey) is not a did:key") }
        let bytes = didKey.bytes
        guard bytes.count == 34, bytes[0] == 0xed, bytes[1] == 0x01 else {
            throw .invalidDID("\(didKey) is not an Ed25519 did:key")
        }
        self.did = didKey
        self.publicKey = Array(bytes[2...])
    }

    /// The same key answering for another DID (a did:web resolved to this key).
    public func withDID(_ other: DID) -> Ed25519Verifier { Ed25519Verifier(did: other, publicKey: publicKey) }

    public func verify(_ payload: [UInt8], signature: UCANSignature) -> Bool {
        guard signature.code == UCANSignature.edDSA, signature.raw.count == 64,
              let key = try? Curve25519.Signing.PublicKey(rawRepresentation: publicKey) else { return false }
        return key.isValidSignature(signature.raw, for: payload)
    }
}
