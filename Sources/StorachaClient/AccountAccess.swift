import Foundation
import IPLD
import Multiformats
import UCAN
import Ucanto

/// Login and provisioning for an agent: `access/authorize`, polling `access/claim` until the account
/// confirms, and `provider/add` for a space.
public struct AccountAccess: Sendable {
    /// The service.
    public let connection: ServiceConnection
    /// The agent's key.
    public let agent: Ed25519Signer

    /// Creates the helper.
    public init(connection: ServiceConnection, agent: Ed25519Signer) {
        self.connection = connection
        self.agent = agent
    }

    /// Asks the service to email `account` a login link and waits until it is confirmed (polling
    /// `access/claim` every 250 ms); returns the claimed delegations (the account's `*` delegation and
    /// the service's `ucan/attest`).
    public func login(_ account: DID, timeout: TimeInterval = 15 * 60) async throws -> [Delegation] {
        let authorize = try Delegation.invoke(issuer: agent, audience: connection.did,
                                              capability: Capability(can: "access/authorize", with: agent.did.string,
                                                                     nb: ["iss": .string(account.string), "att": [["can": "*"]]]))
        let ok = try await connection.invoke(authorize).requireOK("access/authorize")
        guard case .link(let request)? = ok["request"] else { throw ClientError.protocolViolation("access/authorize returned no request") }
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let claimed = try await claim()
            if claimed.contains(where: { d in d.facts.contains { $0["access/request"]?.linkValue == request } }) { return claimed }
            try await Task.sleep(nanoseconds: 250_000_000)
        }
        throw ClientError.failed(capability: "access/claim", name: "RequestExpired", message: "the login link was not confirmed in time")
    }

    /// `access/claim`: every delegation the service holds for this agent.
    public func claim() async throws -> [Delegation] {
        let inv = try Delegation.invoke(issuer: agent, audience: connection.did, capability: Capability(can: "access/claim", with: agent.did.string),
                                        nonce: UUID().uuidString)
        let ok = try await connection.invoke(inv).requireOK("access/claim")
        guard case .map(let map)? = ok["delegations"] else { return [] }
        return map.values.compactMap { v in
            guard case .bytes(let b) = v else { return nil }
            return try? Delegation.extract(Data(b))
        }
    }

    /// `provider/add`: provisions `space` under `account`, authorized by the account session `proofs`.
    public func provision(space: DID, account: DID, proofs: [Delegation]) async throws {
        let inv = try Delegation.invoke(issuer: agent, audience: connection.did,
                                        capability: Capability(can: "provider/add", with: account.string,
                                                               nb: ["provider": .string(connection.did.string), "consumer": .string(space.string)]),
                                        proofs: proofs.map { .delegation($0) })
        _ = try await connection.invoke(inv).requireOK("provider/add")
    }
}
