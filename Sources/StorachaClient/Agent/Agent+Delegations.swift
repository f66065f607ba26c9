import CivilTime
import Foundation
import IPLD
import Multiformats
import UCAN

/// Delegations the agent issues and revokes, and account-level queries (plans, usage).
extension Agent {
    /// Delegates `abilities` on `space` (default: the current space) to `audience`, with this
    /// agent's proofs for them and the `{space: meta}` fact; keeps it in the profile (`delegation ls`).
    public mutating func createDelegation(to audience: DID, abilities: [String], space: DID? = nil, expiration: Expiration = .never,
                                          audienceMeta: JSONValue? = .object([])) throws -> Delegation {
        let space = try self.space(space?.string)
        guard !abilities.isEmpty else { throw AgentError(.invalidInput, "missing capabilities for delegation") }
        var proofs: [Delegation] = []
        var seen = Set<CID>()
        for can in abilities {
            let found = self.proofs(can: can, with: space.string)
            guard !found.isEmpty else {
                throw AgentError(.noProof, "cannot delegate capability \(can) with \(space): this agent has no proof for it")
            }
            for p in found where seen.insert(p.cid).inserted { proofs.append(p) }
        }
        let meta = profile.spaceMeta(space) ?? .object([])
        let delegation = try Delegation.delegate(issuer: signer, audience: audience,
                                                 capabilities: abilities.map { Capability(can: $0, with: space.string) },
                                                 expiration: expiration, facts: [["space": meta.ipld]], proofs: proofs.map { .delegation($0) },
                                                 now: now())
        let entryMeta: JSONValue = audienceMeta.map { .object([("audience", $0)]) } ?? .object([])
        try update { $0.addDelegation(delegation, meta: entryMeta) }
        return delegation
    }

    /// Delegations this agent issued to others (not sessions, not addressed to itself), unexpired.
    public var issuedDelegations: [Delegation] {
        let t = now()
        return profile.delegations.map(\.delegation).filter { d in
            !d.ucan.isExpired(now: t) && d.audience != did && !d.capabilities.contains { $0.can == "ucan/attest" }
        }
    }

    /// Every usable delegation addressed to this agent (`proof ls`).
    public var heldProofs: [Delegation] {
        let t = now()
        return profile.delegations.map(\.delegation).filter { !$0.ucan.isExpired(now: t) && !$0.ucan.isTooEarly(now: t) && $0.audience == did }
    }

    /// `ucan/revoke` of the delegation `cid`, found in the profile or among `proofs`.
    public func revoke(_ cid: CID, proofs: [Delegation] = []) async throws {
        guard let delegation = (profile.delegations.map(\.delegation) + proofs).first(where: { $0.cid == cid }) else {
            throw AgentError(.invalidInput, "could not find delegation \(cid): pass it with --proof")
        }
        _ = try await run("ucan/revoke", with: did.string, nb: ["ucan": .link(cid)], extraProofs: [delegation] + proofs.filter { $0.cid != cid })
    }

    /// `plan/get` for `account`: its product DID, or `nil` when none is set (`PlanNotFound`).
    public func plan(_ account: DID) async throws -> String? {
        let receipt = try await invoke("plan/get", with: account.string, nonce: UUID().uuidString)
        if receipt.out.errorName == "PlanNotFound" { return nil }
        return try receipt.requireOK("plan/get")["product"]?.stringValue
    }

    /// One space's usage under one provider for a period.
    public struct UsageEntry: Sendable {
        /// The account paying for it.
        public let account: DID
        /// The provider.
        public let provider: String
        /// The space.
        public let space: String
        /// `{initial, final}` sizes in bytes.
        public let initial: Int
        public let final: Int
    }

    /// `subscription/list` for every account, then `usage/report` for every consumer space over
    /// `from…to` (the JS CLI asks from the start of last month until now). Failures per space are returned.
    public func usage(from: Int, to: Int) async throws -> (entries: [UsageEntry], failures: [(space: String, account: DID, error: String)]) {
        var entries: [UsageEntry] = []
        var failures: [(String, DID, String)] = []
        for account in accounts {
            let subscriptions = try await run("subscription/list", with: account.did.string, nonce: UUID().uuidString)
            for subscription in subscriptions["results"]?.listValue ?? [] {
                for consumer in subscription["consumers"]?.listValue ?? [] {
                    guard let space = consumer.stringValue else { continue }
                    do {
                        let report = try await run("usage/report", with: space, nb: ["period": ["from": .integer(IPLDInteger(from)),
                                                                                                "to": .integer(IPLDInteger(to))]],
                                                     nonce: UUID().uuidString)
                        for (_, value) in (report.mapValue ?? [:]).sorted(by: { $0.key < $1.key }) {
                            entries.append(UsageEntry(account: account.did, provider: value["provider"]?.stringValue ?? "",
                                                      space: value["space"]?.stringValue ?? space,
                                                      initial: value["size"]?["initial"]?.intValue ?? 0,
                                                      final: value["size"]?["final"]?.intValue ?? 0))
                        }
                    } catch {
                        failures.append((space, account.did, "\(error)"))
                    }
                }
            }
        }
        return (entries, failures)
    }

    /// The start of last month (UTC), as the JS CLI computes the usage period.
    public static func startOfLastMonth(_ now: Date) -> Int {
        Int(UTCDateTime(now).startOfPreviousMonth.secondsSince1970)
    }
}
