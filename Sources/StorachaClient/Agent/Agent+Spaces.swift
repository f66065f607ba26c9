import CivilTime
import Foundation
import IPLD
import Multiformats
import UCAN
import Ucanto

/// Spaces: creation (key, authorization, provisioning, account recovery, gateway authorization),
/// recovery from the phrase, import from a delegation, and selection.
extension Agent {
    /// A space key this agent owns (right after `space create` or `space recover`).
    public struct OwnedSpace: Sendable {
        /// The space's key.
        public let signer: Ed25519Signer
        /// Its name.
        public let name: String
        /// `{type: "public"}` (or a private access description).
        public let access: JSONValue

        /// The space DID.
        public var did: DID { signer.did }
        /// `{name, access}`, the fact and metadata the JS client records.
        public var meta: JSONValue { .object([("name", .string(name)), ("access", access)]) }
        /// The 24-word recovery phrase of the key.
        public var recoveryPhrase: String { (try? Mnemonic.phrase(for: signer.seed)) ?? "" }

        /// A new random space.
        public static func generate(name: String, access: JSONValue = .object([("type", .string("public"))])) -> OwnedSpace {
            OwnedSpace(signer: .generate(), name: name, access: access)
        }

        /// The space a recovery phrase encodes.
        public static func recover(phrase: String, name: String, access: JSONValue = .object([("type", .string("public"))])) throws -> OwnedSpace {
            OwnedSpace(signer: try Ed25519Signer(seed: try Mnemonic.entropy(of: phrase)), name: name, access: access)
        }

        /// The space → `audience` delegation of `abilities` (default: the space-access list) with
        /// the `{space: meta}` fact; the JS default lifetime for an agent is one year.
        public func authorization(to audience: DID, abilities: [String] = Capabilities.spaceAccess, expiration: Expiration,
                                  now: Int) throws -> Delegation {
            try Delegation.delegate(issuer: signer, audience: audience,
                                    capabilities: abilities.map { Capability(can: $0, with: did.string) },
                                    expiration: expiration, facts: [["space": meta.ipld]], now: now)
        }
    }

    /// One year, the lifetime of a space → agent authorization (`SESSION_LIFETIME`).
    public static let sessionLifetime = 60 * 60 * 24 * 365

    /// Saves `space` for this agent: a one-year authorization to the agent, imported, and made current.
    public mutating func save(_ space: OwnedSpace) throws {
        let proof = try space.authorization(to: did, expiration: .after(Agent.sessionLifetime), now: now())
        try addSpace(from: proof)
        try update { $0.currentSpace = space.did }
    }

    /// Imports a space from a delegation whose first capability is on a `did:key` (`space add`): the
    /// space with its metadata, the delegation as a proof; current when there was none.
    @discardableResult
    public mutating func addSpace(from delegation: Delegation, name: String? = nil) throws -> DID {
        guard let with = delegation.capabilities.first?.with, with.hasPrefix("did:key:"), let space = try? DID(with) else {
            throw AgentError(.invalidProof, "the proof is not a delegation on a space (its first capability is on "
                             + "\(delegation.capabilities.first?.with ?? "nothing"), not a did:key)")
        }
        guard delegation.audience == did else {
            throw AgentError(.invalidProof, "the proof is for \(delegation.audience), not this agent (\(did)): "
                             + "create it with `storacha delegation create \(did)`, or set STORACHA_PRINCIPAL to the key it was made for")
        }
        if delegation.ucan.isExpired(now: now()) {
            throw AgentError(.invalidProof, "the proof expired at \(Agent.isoDate(delegation.expiration ?? 0)); ask for a new one")
        }
        var meta = Agent.spaceMeta(of: delegation)
        if let name, case .object(var members) = meta {
            members.removeAll { $0.0 == "name" }
            members.insert(("name", .string(name)), at: 0)
            meta = .object(members)
        }
        let audienceMeta = JSONValue.object([("audience", profile.meta)])
        try update { profile in
            profile.setSpace(space, meta: meta)
            profile.addDelegation(delegation, meta: audienceMeta)
            if profile.currentSpace == nil { profile.currentSpace = space }
        }
        return space
    }

    /// Adds a delegation as a proof only (`proof add`).
    public mutating func addProof(_ delegation: Delegation) throws {
        let meta = JSONValue.object([("audience", profile.meta)])
        try update { $0.addDelegation(delegation, meta: meta) }
    }

    /// Makes `space` current.
    public mutating func use(_ space: DID) throws {
        guard profile.spaces.contains(where: { $0.did == space }) else { throw AgentError(.unknownSpace, "space not found: \(space)") }
        try update { $0.currentSpace = space }
    }

    /// `provider/add`: provisions `space` under `account` with the account's session proofs.
    public func provision(_ space: DID, account: DID) async throws {
        let proofs = accounts.first { $0.did == account }?.proofs ?? []
        guard !proofs.isEmpty else {
            let email = account.email ?? account.string
            throw AgentError(.notLoggedIn, "this agent is not logged in as \(email): run `storacha login \(email)`")
        }
        _ = try await run("provider/add", with: account.string,
                          nb: ["provider": .string(network.serviceDID.string), "consumer": .string(space.string)], extraProofs: [])
    }

    /// The account recovery: a never-expiring `*` delegation from the space to `account`, stored with
    /// the service through `access/delegate` so that any agent of the account can claim the space.
    public func delegateRecovery(_ space: OwnedSpace, to account: DID) async throws {
        let recovery = try space.authorization(to: account, abilities: ["*"], expiration: .never, now: now())
        try await publish([recovery], space: space.did, connection: connection)
    }

    /// `access/delegate` of `delegations` on `space` to the service behind `connection`.
    public func publish(_ delegations: [Delegation], space: DID, connection: ServiceConnection) async throws {
        var entries: [String: IPLDValue] = [:]
        for d in delegations { entries[d.cid.description] = .link(d.cid) }
        _ = try await run("access/delegate", with: space.string, nb: ["delegations": .map(entries)], extraProofs: delegations,
                          connection: connection)
    }

    /// Authorizes a gateway to serve the space's content: a never-expiring `space/content/serve/*`
    /// delegation to it (kept in the profile, as `createDelegation` does), published to the gateway.
    public mutating func authorizeGateway(space: DID, gateway: ServiceConnection) async throws {
        let delegation = try createDelegation(to: gateway.did, abilities: ["space/content/serve/*"], space: space, expiration: .never,
                                              audienceMeta: nil)
        let access = proofs(can: "access/*", with: space.string)
        var entries: [String: IPLDValue] = [:]
        entries[delegation.cid.description] = .link(delegation.cid)
        let invocation = try Delegation.invoke(issuer: signer, audience: gateway.did,
                                               capability: Capability(can: "access/delegate", with: space.string, nb: ["delegations": .map(entries)]),
                                               proofs: (access + [delegation]).map { .delegation($0) }, now: now())
        _ = try await gateway.invoke(invocation).requireOK("access/delegate")
    }

    static func isoDate(_ seconds: Int) -> String {
        UTCDateTime(milliseconds: Int64(seconds) * 1000).iso8601(milliseconds: false)
    }
}
