import Foundation
import IPLD
import Multiformats
import UCAN
import Ucanto

/// An agent on a network: its key and proofs (the profile), where they are kept, and the invocations
/// it makes with them. Every change is saved at once, as the JS client does, with expired proofs pruned.
public struct Agent: Sendable {
    /// The network it talks to.
    public let network: Network
    /// Where its profile lives.
    public let store: ProfileStore
    /// Its state.
    public private(set) var profile: AgentProfile
    /// The clock (seconds since the epoch), replaceable in tests.
    public var now: @Sendable () -> Int = { Clock.now() }

    /// The agent's key.
    public var signer: Ed25519Signer { profile.principal }
    /// The agent's DID.
    public var did: DID { profile.principal.did }
    /// The upload service connection.
    public var connection: ServiceConnection { network.connection }

    /// Opens the profile in `store`, creating it (with `principal`, or a fresh key) on first use.
    /// A `principal` that differs from the stored one is refused, as in the JS client.
    public static func open(network: Network, store: ProfileStore, principal: Ed25519Signer? = nil) throws(AgentError) -> Agent {
        let loaded: AgentProfile?
        do { loaded = try store.load() } catch { throw AgentError(.profile, error.description) }
        if let loaded {
            if let principal, principal.did != loaded.principal.did {
                throw AgentError(.principalMismatch, "the stored agent \(loaded.principal.did) is not STORACHA_PRINCIPAL \(principal.did): "
                                 + "stored principal and passed principal must match; use another STORACHA_STORE_NAME for this key")
            }
            return Agent(network: network, store: store, profile: loaded)
        }
        let agent = Agent(network: network, store: store, profile: AgentProfile(principal: principal ?? .generate()))
        try agent.save()
        return agent
    }

    init(network: Network, store: ProfileStore, profile: AgentProfile) {
        self.network = network
        self.store = store
        self.profile = profile
    }

    func save() throws(AgentError) {
        do { try store.save(profile) } catch { throw AgentError(.profile, error.description) }
    }

    /// Applies `change` to the profile, prunes expired proofs and saves.
    public mutating func update(_ change: (inout AgentProfile) throws -> Void) throws {
        var next = profile
        try change(&next)
        next.pruneExpired(now: now())
        try store.save(next)
        profile = next
    }

    // MARK: Proofs

    /// Usable (unexpired, active) delegations to this agent that grant `can` on `with`, followed by
    /// the service attestations of account sessions among them (`ucan/attest` whose `proof` is one of them).
    public func proofs(can: String, with resource: String) -> [Delegation] {
        let t = now()
        let usable = profile.delegations.map(\.delegation).filter { !$0.ucan.isExpired(now: t) && !$0.ucan.isTooEarly(now: t) }
        let direct = usable.filter { $0.audience == did && Agent.grants($0, can: can, with: resource, depth: 0) }
        let ids = Set(direct.map(\.cid))
        let attestations = usable.filter { d in
            d.audience == did && d.capabilities.contains { $0.can == "ucan/attest" && $0[caveat: "proof"]?.linkValue.map(ids.contains) == true }
        }
        return direct + attestations
    }

    /// Whether `delegation` grants `can` on `with`: a capability whose ability covers it on that
    /// resource, or on `ucan:*` when the issuer is the resource or one of its proofs grants it.
    static func grants(_ delegation: Delegation, can: String, with resource: String, depth: Int) -> Bool {
        guard depth < 16 else { return false }
        for capability in delegation.capabilities where Attenuation.abilityMatches(capability.can, can) || capability.can == can {
            if capability.with == resource { return true }
            if capability.with == "ucan:*" {
                if delegation.issuer.string == resource { return true }
                for case .delegation(let proof) in delegation.proofs where grants(proof, can: can, with: resource, depth: depth + 1) { return true }
            }
        }
        return false
    }

    /// Accounts (`did:mailto`) that authorized this agent, with their session proofs.
    public var accounts: [(did: DID, proofs: [Delegation])] {
        var out: [(DID, [Delegation])] = []
        let t = now()
        for entry in profile.delegations {
            let d = entry.delegation
            guard d.audience == did, d.issuer.method == "mailto", !d.ucan.isExpired(now: t),
                  d.capabilities.contains(where: { $0.can == "*" && ($0.with == "ucan:*" || $0.with == d.issuer.string) }) else { continue }
            if let i = out.firstIndex(where: { $0.0 == d.issuer }) { out[i].1.append(d) } else { out.append((d.issuer, [d])) }
        }
        return out.map { account in (account.0, proofs(can: "*", with: account.0.string).filter { d in
            account.1.contains(d) || d.capabilities.contains { $0.can == "ucan/attest" }
        }) }
    }

    /// The spaces this agent knows, in order, with their names.
    public var spaces: [(did: DID, name: String)] { profile.spaces.map { ($0.did, $0.meta["name"]?.stringValue ?? "") } }

    /// The space `nameOrDID` names (a DID, else a name), or the current space when it is `nil`.
    public func space(_ nameOrDID: String?) throws(AgentError) -> DID {
        guard let nameOrDID else {
            guard let current = profile.currentSpace else {
                throw AgentError(.noCurrentSpace, "no current space: create one with `storacha space create` or select one with `storacha space use`")
            }
            return current
        }
        if let found = profile.spaces.first(where: { $0.did.string == nameOrDID }) { return found.did }
        if let found = profile.spaces.first(where: { $0.meta["name"]?.stringValue == nameOrDID }) { return found.did }
        if nameOrDID.hasPrefix("did:key:"), let did = try? DID(nameOrDID) { return did }
        throw AgentError(.unknownSpace, "space not found: \(nameOrDID) (see `storacha space ls`)")
    }

    // MARK: Invocations

    /// Invokes `can` on `with` through `connection` (default: the upload service) with this agent's
    /// proofs for it (plus `extraProofs`) and returns the receipt.
    public func invoke(_ can: String, with resource: String, nb: [String: IPLDValue] = [:], nonce: String? = nil,
                       extraProofs: [Delegation] = [], attachments: [Block] = [], expiration: Expiration = .default,
                       connection: ServiceConnection? = nil) async throws -> Receipt {
        let target = connection ?? self.connection
        let chain = resource == did.string ? extraProofs : proofs(can: can, with: resource) + extraProofs
        if resource != did.string && chain.isEmpty {
            throw AgentError(.noProof, "this agent has no proof for \(can) on \(resource): "
                             + (resource.hasPrefix("did:mailto:") ? "log in with `storacha login`" : "add one with `storacha space add` or log in"))
        }
        let invocation = try Delegation.invoke(issuer: signer, audience: target.did, capability: Capability(can: can, with: resource, nb: nb),
                                               expiration: expiration, nonce: nonce, proofs: chain.map { .delegation($0) },
                                               attachments: attachments, now: now())
        return try await target.invoke(invocation)
    }

    /// Invokes and returns the `ok` value, or throws the service's error with its name.
    public func run(_ can: String, with resource: String, nb: [String: IPLDValue] = [:], nonce: String? = nil,
                    extraProofs: [Delegation] = [], connection: ServiceConnection? = nil) async throws -> IPLDValue {
        try await invoke(can, with: resource, nb: nb, nonce: nonce, extraProofs: extraProofs, connection: connection).requireOK(can)
    }

    /// A session on `space` for the upload flows, with this agent's proofs for it.
    public func session(space: DID, retry: RetryPolicy = RetryPolicy()) -> SpaceSession {
        let caps = ["space/blob/add", "space/index/add", "filecoin/offer", "upload/add", "upload/list", "space/blob/list", "space/blob/get/0/1"]
        var seen = Set<CID>()
        let chain = caps.flatMap { self.proofs(can: $0, with: space.string) }.filter { seen.insert($0.cid).inserted }
        var connection = self.connection
        connection.retry = retry
        return SpaceSession(connection: connection, agent: signer, space: space, proofs: chain)
    }
}

/// Why an agent operation failed, with a kind a caller can test.
public struct AgentError: Error, CustomStringConvertible, Sendable {
    /// The kinds of failure.
    public enum Kind: Sendable, Equatable {
        case profile, principalMismatch, noCurrentSpace, unknownSpace, noProof, notLoggedIn, invalidInput, invalidProof
    }
    /// What kind.
    public let kind: Kind
    /// One line for the user.
    public let description: String

    /// Creates an error.
    public init(_ kind: Kind, _ description: String) {
        self.kind = kind
        self.description = description
    }
}
