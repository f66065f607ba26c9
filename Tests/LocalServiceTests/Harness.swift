import AsyncHTTPClient
import Foundation
import IPLD
import LocalService
import StorachaClient
import Multiformats
import NIOCore
import NIOHTTP1
import TestSupport
import UCAN
import Ucanto

typealias ServiceClient = ServiceConnection

struct HarnessError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

/// A running service with a logged-in agent, an account and a provisioned space.
struct World {
    var running: RunningService!
    var client: ServiceClient
    var agent = Ed25519Signer.generate()
    let space = Ed25519Signer.generate()
    let account: DID
    var session: [Delegation] = []
    var spaceProof: Delegation
    let dataDirectory: URL

    static func start(autoConfirm: Bool = true, dataDirectory: URL? = nil, provision: Bool = true) async throws -> World {
        let dir = dataDirectory ?? FileManager.default.temporaryDirectory.appendingPathComponent("storacha-svc-\(UUID().uuidString)")
        let running = try await LocalServer.start(ServiceConfiguration(dataDirectory: dir, autoConfirm: autoConfirm))
        return try await make(running: running, client: ServiceClient(url: running.url, did: running.did), dataDirectory: dir,
                              autoConfirm: autoConfirm, provision: provision)
    }

    /// The same service and space, acting as another agent.
    func with(agent: Ed25519Signer) -> World {
        var w = self
        w.agent = agent
        return w
    }

    /// A world around a service that runs elsewhere (another process).
    static func attach(url: String, did: DID, dataDirectory: URL) async throws -> World {
        try await make(running: nil, client: ServiceClient(url: url, did: did), dataDirectory: dataDirectory, autoConfirm: true, provision: true)
    }

    /// The same agent, space and session against another service URL (after a restart).
    func reattached(url: String) -> World {
        var w = self
        w.client = ServiceClient(url: url, did: client.did)
        w.running = nil
        return w
    }

    static func make(running: RunningService?, client: ServiceClient, dataDirectory dir: URL, autoConfirm: Bool, provision: Bool) async throws -> World {
        let account = try DID.mailto(email: "alice-\(UUID().uuidString.prefix(8))@example.com")
        let placeholder = try Delegation.delegate(issuer: Ed25519Signer.generate(), audience: "did:key:z6MkffDZCkCTWreg8868fG1FGFogcJj5X6PY93pPcWDn9bob",
                                                  capabilities: [Capability(can: "*", with: "ucan:*")], expiration: .never)
        var world = World(running: running, client: client, account: account, spaceProof: placeholder, dataDirectory: dir)
        world.spaceProof = try Delegation.delegate(issuer: world.space, audience: world.agent.did,
                                                   capabilities: Capabilities.spaceAccess.map { Capability(can: $0, with: world.space.did.string) },
                                                   expiration: .never)
        if autoConfirm {
            try await world.login()
            if provision { try await world.provision() }
        }
        return world
    }

    func stop() async {
        await running?.stop()
        try? FileManager.default.removeItem(at: dataDirectory)
    }

    /// access/authorize (auto-confirmed) then access/claim.
    mutating func login() async throws {
        let authorize = try Delegation.invoke(issuer: agent, audience: client.did,
                                              capability: Capability(can: "access/authorize", with: agent.did.string,
                                                                     nb: ["iss": .string(account.string), "att": [["can": "*"]]]))
        let r = try await client.invoke(authorize)
        guard r.out.isOK else { throw HarnessError("authorize failed: \(r.out)") }
        session = try await claim()
    }

    func claim() async throws -> [Delegation] {
        let claim = try Delegation.invoke(issuer: agent, audience: client.did, capability: Capability(can: "access/claim", with: agent.did.string),
                                          nonce: UUID().uuidString)
        let r = try await client.invoke(claim)
        guard case .ok(let ok) = r.out, case .map(let map)? = ok["delegations"] else { throw HarnessError("claim failed: \(r.out)") }
        return try map.values.compactMap { v -> Delegation? in
            guard case .bytes(let b) = v else { return nil }
            return try Delegation.extract(Data(b))
        }
    }

    /// provider/add for the space, authorized by the account session.
    func provision() async throws {
        let inv = try Delegation.invoke(issuer: agent, audience: client.did,
                                        capability: Capability(can: "provider/add", with: account.string,
                                                               nb: ["provider": .string(client.did.string), "consumer": .string(space.did.string)]),
                                        proofs: session.map { .delegation($0) })
        let r = try await client.invoke(inv)
        guard r.out.isOK else { throw HarnessError("provider/add failed: \(r.out)") }
    }

    /// An invocation on the space by the agent, with the space → agent proof.
    func spaceInvocation(_ can: String, _ nb: [String: IPLDValue] = [:], nonce: String? = nil) throws -> Delegation {
        try Delegation.invoke(issuer: agent, audience: client.did, capability: Capability(can: can, with: space.did.string, nb: nb),
                              nonce: nonce, proofs: [.delegation(spaceProof)])
    }

    /// Invokes on the space; each call is a fresh invocation (a random nonce), as retries in another second would be.
    func invoke(_ can: String, _ nb: [String: IPLDValue] = [:]) async throws -> Receipt {
        try await client.invoke(try spaceInvocation(can, nb, nonce: UUID().uuidString))
    }

    /// The session the client library uses for this agent and space.
    var spaceSession: SpaceSession { SpaceSession(connection: client, agent: agent, space: space.did, proofs: [spaceProof]) }

    /// The whole blob flow: space/blob/add → PUT → ucan/conclude(http/put) → blob/accept receipt.
    @discardableResult
    func addBlob(_ bytes: Data) async throws -> (digest: Multihash, accept: Receipt) { try await spaceSession.addBlob(bytes) }
}

import UnixFS

extension World {
    /// Uploads files as `storacha up` does.
    @discardableResult
    func upload(_ files: [ImportFile], wrap: Bool = true, shardSize: Int = PackOptions.defaultShardSize) async throws -> PackResult {
        try await spaceSession.upload(files, options: PackOptions(shardSize: shardSize, wrap: wrap))
    }
}
