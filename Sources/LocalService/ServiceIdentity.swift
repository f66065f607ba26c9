import Crypto
import Foundation
import SystemIO
import UCAN

/// The service's signing identity: a `did:web` backed by an Ed25519 key kept in the data directory
/// (`service.key`, mode 0600), so the identity survives restarts.
public struct ServiceIdentity: Sendable {
    /// The key.
    public let key: Ed25519Signer
    /// The service DID (`did:web:…`).
    public let did: DID

    /// Signs as the service DID.
    public var signer: DIDSigner { key.withDID(did) }
    /// Verifies the service DID.
    public var verifier: Ed25519Verifier { key.verifier.withDID(did) }

    /// A secret for signing blob PUT URLs, derived from the key.
    var urlSecret: SymmetricKey {
        SymmetricKey(data: Array(HMAC<SHA256>.authenticationCode(for: Array("storacha-local-put-url".utf8), using: SymmetricKey(data: key.seed))))
    }

    /// Loads the key from `directory/service.key`, creating it on first start.
    public static func load(directory: URL, did: DID) throws -> ServiceIdentity {
        let url = directory.appendingPathComponent("service.key")
        if let text = try? String(contentsOf: url, encoding: .utf8) {
            return ServiceIdentity(key: try Ed25519Signer(parsing: text), did: did)
        }
        let key = Ed25519Signer.generate()
        // Fsynced before and after the rename: losing this file would change the service's identity.
        try DurableFile.write(Data((key.format() + "\n").utf8), to: url, permissions: 0o600)
        return ServiceIdentity(key: key, did: did)
    }
}
