import Foundation
import IPLD
import Multiformats
import UCAN

/// Why an invocation or one link of its proof chain was refused. Each case names the link (the
/// UCAN's CID) and carries the reason; `name` is the error name @ucanto/validator uses.
public indirect enum ValidationError: Error, Hashable, Sendable, CustomStringConvertible {
    case invalidAudience(link: CID, expected: DID, actual: DID)
    case invalidSignature(link: CID, issuer: DID)
    case expired(link: CID, expiredAt: Int)
    case notValidBefore(link: CID, validAt: Int)
    case principalAlignment(link: CID, issuer: DID, audience: DID)
    case unavailableProof(link: CID)
    case escalation(link: CID, reason: String)
    case malformedCapability(link: CID, reason: String)
    case revoked(link: CID)
    case missingAttestation(link: CID, issuer: DID)
    case didResolution(did: DID)
    case noMatchingProof(link: CID, capability: Capability)
    case unauthorized(capability: Capability, causes: [ValidationError])

    /// The error name as ucanto reports it.
    public var name: String {
        switch self {
        case .invalidAudience: return "InvalidAudience"
        case .invalidSignature: return "InvalidSignature"
        case .expired: return "Expired"
        case .notValidBefore: return "NotValidBefore"
        case .principalAlignment: return "PrincipalAlignmentError"
        case .unavailableProof: return "UnavailableProof"
        case .escalation: return "EscalatedCapability"
        case .malformedCapability: return "MalformedCapability"
        case .revoked: return "Revoked"
        case .missingAttestation: return "SessionEscalation"
        case .didResolution: return "DIDKeyResolutionError"
        case .noMatchingProof: return "InvalidClaim"
        case .unauthorized: return "Unauthorized"
        }
    }

    /// Every leaf cause, depth first.
    public var leafCauses: [ValidationError] {
        if case .unauthorized(_, let causes) = self { return causes.flatMap(\.leafCauses) }
        return [self]
    }

    public var description: String {
        switch self {
        case .invalidAudience(let l, let e, let a): return "Delegation \(l) is addressed to \(a), expected \(e)"
        case .invalidSignature(let l, let i): return "Proof \(l) does not have a valid signature from \(i)"
        case .expired(let l, let t): return "Proof \(l) has expired on \(Self.date(t))"
        case .notValidBefore(let l, let t): return "Proof \(l) is not valid before \(Self.date(t))"
        case .principalAlignment(let l, let i, let a): return "Delegation audience is '\(a)' instead of '\(i)' in \(l)"
        case .unavailableProof(let l): return "Linked proof '\(l)' is not included and could not be resolved"
        case .escalation(let l, let r): return "Capability in \(l) is not within its proof: \(r)"
        case .malformedCapability(let l, let r): return "Encountered malformed capability in \(l): \(r)"
        case .revoked(let l): return "Proof \(l) has been revoked"
        case .missingAttestation(let l, let i): return "Proof \(l) is issued by \(i) and has no valid ucan/attest from the service"
        case .didResolution(let d): return "Unable to resolve '\(d)' key"
        case .noMatchingProof(let l, let c): return "No proof in \(l) delegates \(c.can) on \(c.with)"
        case .unauthorized(let c, let causes):
            let reasons = causes.isEmpty ? "no proof delegates it" : causes.map(\.description).joined(separator: "; ")
            return "Claim \(c) is not authorized: \(reasons)"
        }
    }

    static func date(_ t: Int) -> String {
        let f = ISO8601DateFormatter()
        return f.string(from: Date(timeIntervalSince1970: TimeInterval(t)))
    }
}

/// The proof chain that authorizes an invocation, from the invocation to the root delegation.
public struct Authorization: Sendable, Hashable {
    /// The capability that was authorized.
    public let capability: Capability
    /// The invocation first, then each proof down to the one issued by the resource owner.
    public let chain: [Delegation]

    /// Who authorized it at the root (the resource owner or the service).
    public var rootIssuer: DID? { chain.last?.issuer }
}

/// Decides whether an invocation is authorized, as @ucanto/validator does: every link is signed by
/// its issuer (a did:mailto issuer only with a `ucan/attest` from the service), within its time
/// bounds and not revoked; each link's audience is the next link's issuer; and the capability is
/// delegated along the chain (`*`, `ns/*`, `ucan:*`) with caveats no wider than the proof's.
public struct Validator: Sendable {
    /// The service identity: its DID and the key that signs for it.
    public let authority: any Verifier
    /// Keys for DIDs that are not `did:key` (for example `did:web` services).
    public var didKeys: [DID: [any Verifier]]
    /// Whether a delegation is revoked.
    public var isRevoked: @Sendable (CID) async -> Bool
    /// Whether `issuer` may issue `capability` on its own authority (default: it owns the resource).
    public var canIssue: @Sendable (Capability, DID) -> Bool
    /// Capability schemas checked for the invoked capability (unknown abilities are only checked for attenuation).
    public var definitions: [String: CapabilityDefinition]

    /// Creates a validator for `authority`.
    public init(authority: any Verifier, didKeys: [DID: [any Verifier]] = [:], definitions: [String: CapabilityDefinition] = Capabilities.all,
                isRevoked: @escaping @Sendable (CID) async -> Bool = { _ in false },
                canIssue: @escaping @Sendable (Capability, DID) -> Bool = { capability, issuer in capability.with == issuer.string }) {
        self.authority = authority
        self.didKeys = didKeys
        self.definitions = definitions
        self.isRevoked = isRevoked
        self.canIssue = canIssue
    }

    /// Checks `invocation` (its first capability) at time `now`.
    public func access(_ invocation: Delegation, now: Int = Clock.now()) async -> Result<Authorization, ValidationError> {
        guard let capability = invocation.capabilities.first, invocation.capabilities.count == 1 else {
            return .failure(.malformedCapability(link: invocation.cid, reason: "an invocation must have exactly one capability"))
        }
        guard invocation.audience == authority.did else {
            return .failure(.invalidAudience(link: invocation.cid, expected: authority.did, actual: invocation.audience))
        }
        if let definition = definitions[capability.can], let why = definition.malformation(capability) {
            return .failure(.unauthorized(capability: capability, causes: [.malformedCapability(link: invocation.cid, reason: why)]))
        }
        if let error = await validate(invocation, siblings: [], now: now) {
            return .failure(.unauthorized(capability: capability, causes: [error]))
        }
        switch await authorize(capability, by: invocation, now: now, depth: 0) {
        case .success(let chain): return .success(Authorization(capability: capability, chain: chain))
        case .failure(let error):
            if case .unauthorized = error { return .failure(error) }
            return .failure(.unauthorized(capability: capability, causes: [error]))
        }
    }

    /// Finds a chain under `delegation` that grants `claimed`.
    func authorize(_ claimed: Capability, by delegation: Delegation, now: Int, depth: Int) async -> Result<[Delegation], ValidationError> {
        if canIssue(claimed, delegation.issuer) { return .success([delegation]) }
        guard depth < 32 else { return .failure(.noMatchingProof(link: delegation.cid, capability: claimed)) }
        var errors: [ValidationError] = []
        var aligned: [Delegation] = []
        for proof in delegation.proofs {
            guard case .delegation(let p) = proof else { errors.append(.unavailableProof(link: proof.cid)); continue }
            guard p.audience == delegation.issuer else {
                errors.append(.principalAlignment(link: p.cid, issuer: delegation.issuer, audience: p.audience))
                continue
            }
            aligned.append(p)
        }
        for p in aligned {
            if let error = await validate(p, siblings: aligned, now: now) { errors.append(error); continue }
            for delegated in p.capabilities {
                switch match(claimed, delegated) {
                case .none: continue
                case .tooWide(let reason)?: errors.append(.escalation(link: p.cid, reason: reason))
                case .covers?:
                    switch await authorize(claimed, by: p, now: now, depth: depth + 1) {
                    case .success(let chain): return .success([delegation] + chain)
                    case .failure(let e): errors.append(e)
                    }
                }
            }
        }
        if errors.isEmpty { return .failure(.unauthorized(capability: claimed, causes: [.noMatchingProof(link: delegation.cid, capability: claimed)])) }
        return .failure(.unauthorized(capability: claimed, causes: errors))
    }

    /// `nil` when `delegated` does not speak about `claimed`; otherwise success, or why it is too narrow.
    enum Match { case covers, tooWide(String) }

    func match(_ claimed: Capability, _ delegated: Capability) -> Match? {
        guard Attenuation.abilityMatches(delegated.can, claimed.can) else { return nil }
        let resourceMatches: Bool
        if delegated.with == "ucan:*" || delegated.with == claimed.with {
            resourceMatches = true
        } else if delegated.with.hasSuffix("*") {
            resourceMatches = claimed.with.hasPrefix(delegated.with.dropLast())
        } else {
            resourceMatches = false
        }
        guard resourceMatches else { return nil }
        if let why = Attenuation.caveatEscalation(claimed: claimed.nb ?? [:], delegated: delegated.nb ?? [:]) { return .tooWide(why) }
        return .covers
    }

    /// Time bounds, revocation and the issuer's authorization of one link.
    func validate(_ delegation: Delegation, siblings: [Delegation], now: Int) async -> ValidationError? {
        if let exp = delegation.expiration, delegation.ucan.isExpired(now: now) { return .expired(link: delegation.cid, expiredAt: exp) }
        if let nbf = delegation.ucan.notBefore, delegation.ucan.isTooEarly(now: now) { return .notValidBefore(link: delegation.cid, validAt: nbf) }
        if await isRevoked(delegation.cid) { return .revoked(link: delegation.cid) }
        return await verifyIssuer(delegation, siblings: siblings, now: now)
    }

    func verifyIssuer(_ delegation: Delegation, siblings: [Delegation], now: Int) async -> ValidationError? {
        let issuer = delegation.issuer
        if issuer.isKey {
            guard let verifier = try? Ed25519Verifier(didKey: issuer) else { return .didResolution(did: issuer) }
            return delegation.ucan.verifySignature(verifier) ? nil : .invalidSignature(link: delegation.cid, issuer: issuer)
        }
        if issuer == authority.did {
            return delegation.ucan.verifySignature(authority) ? nil : .invalidSignature(link: delegation.cid, issuer: issuer)
        }
        // Another DID method: look for a service attestation among the sibling proofs.
        for attestation in siblings where attestation.cid != delegation.cid {
            guard let cap = attestation.capabilities.first, cap.can == "ucan/attest", cap.with == authority.did.string,
                  cap[caveat: "proof"]?.linkValue == delegation.cid, attestation.issuer == authority.did else { continue }
            if attestation.ucan.isExpired(now: now) || attestation.ucan.isTooEarly(now: now) { continue }
            if await isRevoked(attestation.cid) { continue }
            if attestation.ucan.verifySignature(authority) { return nil }
        }
        if let verifiers = didKeys[issuer], !verifiers.isEmpty {
            for v in verifiers where delegation.ucan.verifySignature(v) { return nil }
            return .invalidSignature(link: delegation.cid, issuer: issuer)
        }
        return .missingAttestation(link: delegation.cid, issuer: issuer)
    }
}
