import CivilTime
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
    case limitExceeded(link: CID, limit: String)

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
        case .limitExceeded: return "LimitExceeded"
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
        case .limitExceeded(let l, let limit): return "Proofs of \(l) exceed a limit: \(limit)"
        }
    }

    static func date(_ t: Int) -> String {
        UTCDateTime(milliseconds: Int64(t) * 1000).iso8601(milliseconds: false)
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

    /// Longest proof chain accepted below an invocation (real chains have a handful of links).
    public static let maxProofDepth = 32

    /// Checks `invocation` (its first capability) at time `now`.
    ///
    /// The work is linear in the number of distinct delegations: each proof is decoded, checked and
    /// searched once per invocation, however many times the proof DAG cites it, and chains deeper than
    /// ``maxProofDepth`` are refused before any search.
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
        let run = ValidationRun()
        guard run.height(invocation, level: 0) != nil else {
            return .failure(.limitExceeded(link: invocation.cid, limit: "proof chains may be at most \(Validator.maxProofDepth) delegations deep"))
        }
        if let error = await validate(invocation, parent: nil, attestations: [:], now: now, run: run) {
            return .failure(.unauthorized(capability: capability, causes: [error]))
        }
        switch await authorize(capability, by: invocation, now: now, run: run) {
        case .success(let chain): return .success(Authorization(capability: capability, chain: chain))
        case .failure(let error):
            if case .unauthorized = error { return .failure(error) }
            return .failure(.unauthorized(capability: capability, causes: [error]))
        }
    }

    /// Finds a chain under `delegation` that grants `claimed` (the same capability at every level, so
    /// the answer for a delegation is remembered for the rest of the run).
    func authorize(_ claimed: Capability, by delegation: Delegation, now: Int, run: ValidationRun) async -> Result<[Delegation], ValidationError> {
        if canIssue(claimed, delegation.issuer) { return .success([delegation]) }
        if let known = run.authorized[delegation.cid] {
            // A failure already reported elsewhere in the tree is not repeated, so errors stay linear too.
            if case .failure = known { return .failure(.unauthorized(capability: claimed, causes: [])) }
            return known
        }
        let result = await search(claimed, by: delegation, now: now, run: run)
        run.authorized[delegation.cid] = result
        return result
    }

    func search(_ claimed: Capability, by delegation: Delegation, now: Int, run: ValidationRun) async -> Result<[Delegation], ValidationError> {
        var errors: [ValidationError] = []
        var aligned: [Delegation] = []
        for proof in run.proofs(of: delegation) {
            guard case .delegation(let p) = proof else { errors.append(.unavailableProof(link: proof.cid)); continue }
            guard p.audience == delegation.issuer else {
                errors.append(.principalAlignment(link: p.cid, issuer: delegation.issuer, audience: p.audience))
                continue
            }
            aligned.append(p)
        }
        // Service attestations among the proofs, by the proof they attest (for did:mailto issuers).
        var attestations: [CID: [Delegation]] = [:]
        for a in aligned {
            guard let cap = a.capabilities.first, cap.can == "ucan/attest", let proof = cap[caveat: "proof"]?.linkValue else { continue }
            attestations[proof, default: []].append(a)
        }
        for p in aligned {
            if let error = await validate(p, parent: delegation.cid, attestations: attestations, now: now, run: run) {
                errors.append(error)
                continue
            }
            for delegated in p.capabilities {
                switch match(claimed, delegated) {
                case .none: continue
                case .tooWide(let reason)?: errors.append(.escalation(link: p.cid, reason: reason))
                case .covers?:
                    switch await authorize(claimed, by: p, now: now, run: run) {
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

    /// Time bounds, revocation and the issuer's authorization of one link, remembered per link and
    /// parent (the proofs beside a link may hold its attestation).
    func validate(_ delegation: Delegation, parent: CID?, attestations: [CID: [Delegation]], now: Int,
                  run: ValidationRun) async -> ValidationError? {
        let key = ValidationRun.Edge(link: delegation.cid, parent: parent)
        if let known = run.validated[key] { return known }
        let result = await check(delegation, attestations: attestations[delegation.cid] ?? [], now: now, run: run)
        run.validated[key] = .some(result)
        return result
    }

    func check(_ delegation: Delegation, attestations: [Delegation], now: Int, run: ValidationRun) async -> ValidationError? {
        if let exp = delegation.expiration, delegation.ucan.isExpired(now: now) { return .expired(link: delegation.cid, expiredAt: exp) }
        if let nbf = delegation.ucan.notBefore, delegation.ucan.isTooEarly(now: now) { return .notValidBefore(link: delegation.cid, validAt: nbf) }
        if await run.isRevoked(delegation.cid, isRevoked) { return .revoked(link: delegation.cid) }
        return await verifyIssuer(delegation, attestations: attestations, now: now, run: run)
    }

    func verifyIssuer(_ delegation: Delegation, attestations: [Delegation], now: Int, run: ValidationRun) async -> ValidationError? {
        let issuer = delegation.issuer
        if issuer.isKey {
            guard let verifier = try? Ed25519Verifier(didKey: issuer) else { return .didResolution(did: issuer) }
            return run.verify(delegation, verifier) ? nil : .invalidSignature(link: delegation.cid, issuer: issuer)
        }
        if issuer == authority.did {
            return run.verify(delegation, authority) ? nil : .invalidSignature(link: delegation.cid, issuer: issuer)
        }
        // Another DID method: look for a service attestation among the sibling proofs.
        for attestation in attestations where attestation.cid != delegation.cid {
            guard let cap = attestation.capabilities.first, cap.with == authority.did.string, attestation.issuer == authority.did else { continue }
            if attestation.ucan.isExpired(now: now) || attestation.ucan.isTooEarly(now: now) { continue }
            if await run.isRevoked(attestation.cid, isRevoked) { continue }
            if run.verify(attestation, authority) { return nil }
        }
        if let verifiers = didKeys[issuer], !verifiers.isEmpty {
            for v in verifiers where delegation.ucan.verifySignature(v) { return nil }
            return .invalidSignature(link: delegation.cid, issuer: issuer)
        }
        return .missingAttestation(link: delegation.cid, issuer: issuer)
    }
}

/// What one ``Validator/access(_:now:)`` call has already worked out: decoded proofs, signature and
/// revocation checks, link validations and searches, each by CID. It lives for one call only.
final class ValidationRun {
    struct Edge: Hashable {
        let link: CID
        let parent: CID?
    }

    var proofsByCID: [CID: [Delegation.Proof]] = [:]
    var heights: [CID: Int] = [:]
    var signatures: [CID: Bool] = [:]
    var revocations: [CID: Bool] = [:]
    var validated: [Edge: ValidationError?] = [:]
    var authorized: [CID: Result<[Delegation], ValidationError>] = [:]

    /// The delegation's proofs, decoded once.
    func proofs(of delegation: Delegation) -> [Delegation.Proof] {
        if let known = proofsByCID[delegation.cid] { return known }
        let proofs = delegation.proofs
        proofsByCID[delegation.cid] = proofs
        return proofs
    }

    /// How many delegations deep the proofs under `delegation` go, or nil when `level` plus that
    /// exceeds ``Validator/maxProofDepth`` (recursion stops there, so the stack stays bounded).
    func height(_ delegation: Delegation, level: Int) -> Int? {
        if let known = heights[delegation.cid] { return level + known <= Validator.maxProofDepth ? known : nil }
        guard level <= Validator.maxProofDepth else { return nil }
        var height = 0
        for case .delegation(let p) in proofs(of: delegation) {
            guard let below = self.height(p, level: level + 1) else { return nil }
            height = max(height, below + 1)
        }
        heights[delegation.cid] = height
        return level + height <= Validator.maxProofDepth ? height : nil
    }

    /// The signature check of `delegation` against `verifier`, done once.
    func verify(_ delegation: Delegation, _ verifier: any Verifier) -> Bool {
        if let known = signatures[delegation.cid] { return known }
        let ok = delegation.ucan.verifySignature(verifier)
        signatures[delegation.cid] = ok
        return ok
    }

    /// The revocation lookup of `cid`, done once.
    func isRevoked(_ cid: CID, _ lookup: @Sendable (CID) async -> Bool) async -> Bool {
        if let known = revocations[cid] { return known }
        let revoked = await lookup(cid)
        revocations[cid] = revoked
        return revoked
    }
}
