import AsyncHTTPClient
import Foundation
import IPLD
import LocalService
import Multiformats
import NIOCore
import NIOHTTP1
import TestSupport
import UCAN
import Ucanto

/// Talks to a running local service over real HTTP, as a client would.
struct ServiceClient {
    let url: String
    let did: DID

    struct HTTPResult {
        let status: Int
        let headers: [String: String]
        let body: Data
    }

    func request(_ method: HTTPMethod, _ target: String, headers: [String: String] = [:], body: Data? = nil) async throws -> HTTPResult {
        var req = HTTPClientRequest(url: target.hasPrefix("http") ? target : url + target)
        req.method = method
        for (k, v) in headers { req.headers.add(name: k, value: v) }
        if let body { req.body = .bytes(ByteBuffer(bytes: body)) }
        let resp = try await HTTPClient.shared.execute(req, timeout: .seconds(60))
        let bytes = try await resp.body.collect(upTo: 512 << 20)
        var h: [String: String] = [:]
        for header in resp.headers { h[header.name.lowercased()] = header.value }
        return HTTPResult(status: Int(resp.status.code), headers: h, body: Data(bytes.readableBytesView))
    }

    /// Sends invocations in one agent message and returns the response message.
    func send(_ invocations: [Delegation]) async throws -> AgentMessage {
        let body = try AgentMessage.request(invocations).encode()
        let r = try await request(.POST, "/", headers: ["content-type": AgentMessage.contentType, "accept": AgentMessage.contentType], body: body)
        guard r.status == 200 else { throw HarnessError("POST / answered \(r.status): \(String(decoding: r.body, as: UTF8.self))") }
        return try AgentMessage.decode(r.body)
    }

    /// Sends one invocation and returns its receipt.
    func invoke(_ invocation: Delegation) async throws -> Receipt {
        let message = try await send([invocation])
        guard let receipt = message.receipt(for: invocation.cid) else { throw HarnessError("no receipt for \(invocation.cid)") }
        return receipt
    }

    /// `GET /receipt/<task>`.
    func receipt(for task: CID) async throws -> Receipt? {
        let r = try await request(.GET, "/receipt/\(task)")
        guard r.status == 200 else { return nil }
        return try AgentMessage.decode(r.body).receipt(for: task)
    }
}

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

    /// The whole blob flow: space/blob/add → PUT → ucan/conclude(http/put) → blob/accept receipt.
    @discardableResult
    func addBlob(_ bytes: Data) async throws -> (digest: Multihash, accept: Receipt) {
        let digest = Multihash.sha256(bytes)
        let add = try await invoke("space/blob/add", ["blob": ["digest": .bytes(digest.bytes), "size": .int(bytes.count)]])
        guard add.out.isOK else { throw HarnessError("blob/add failed: \(add.out)") }
        let effects = add.forkedInvocations
        guard let put = effects.first(where: { $0.capabilities.first?.can == "http/put" }),
              let accept = effects.first(where: { $0.capabilities.first?.can == "blob/accept" }),
              let allocate = effects.first(where: { $0.capabilities.first?.can == "blob/allocate" }) else { throw HarnessError("mandatory effects not received") }
        let concludes = effects.filter { $0.capabilities.first?.can == "ucan/conclude" }
        let receipts = try concludes.map { c -> Receipt in
            guard case .link(let link)? = c.capabilities[0].nb?["receipt"] else { throw HarnessError("conclude without receipt") }
            return try Receipt(root: link, blocks: c.blocks)
        }
        guard let allocation = receipts.first(where: { $0.ran == allocate.cid }) else { throw HarnessError("no allocate receipt") }
        let putDone = receipts.contains { $0.ran == put.cid && $0.out.isOK }
        if case .ok(let ok) = allocation.out, case .map(let address)? = ok["address"], !putDone {
            guard let url = address["url"]?.stringValue, case .map(let hs)? = address["headers"] else { throw HarnessError("bad address") }
            var headers: [String: String] = [:]
            for (k, v) in hs { headers[k] = v.stringValue }
            let r = try await client.request(.PUT, url, headers: headers, body: bytes)
            guard r.status == 200 else { throw HarnessError("PUT failed \(r.status): \(String(decoding: r.body, as: UTF8.self))") }
        }
        if !putDone {
            guard case .map(let keys)? = put.facts.first?["keys"], case .map(let inner)? = keys["keys"],
                  case .bytes(let keyBytes)? = inner.values.first else { throw HarnessError("put task has no derived key") }
            let derived = try Ed25519Signer(bytes: keyBytes)
            let putReceipt = try Receipt.issue(issuer: derived, ran: .delegation(put), result: .ok([:]))
            let blocks = putReceipt.export()
            var fact: [String: IPLDValue] = [:]
            for (i, b) in blocks.enumerated() { fact[String(i)] = .link(b.cid) }
            let conclude = try Delegation.invoke(issuer: agent, audience: client.did,
                                                 capability: Capability(can: "ucan/conclude", with: agent.did.string, nb: ["receipt": .link(putReceipt.cid)]),
                                                 expiration: .never, facts: [fact], attachments: blocks)
            let r = try await client.invoke(conclude)
            guard r.out.isOK else { throw HarnessError("conclude failed: \(r.out)") }
        }
        guard let acceptReceipt = try await client.receipt(for: accept.cid) else { throw HarnessError("no blob/accept receipt at /receipt/\(accept.cid)") }
        return (digest, acceptReceipt)
    }
}

import UnixFS

extension World {
    /// Uploads files as `storacha up` does: shards (blob/add each), the index (blob/add + space/index/add), upload/add.
    @discardableResult
    func upload(_ files: [ImportFile], wrap: Bool = true, shardSize: Int = PackOptions.defaultShardSize) async throws -> PackResult {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("storacha-up-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let result = try Packer.pack(files, options: PackOptions(shardSize: shardSize, wrap: wrap), into: dir)
        for shard in result.shards { try await addBlob(try Data(contentsOf: shard.url)) }
        let index = try result.index.archive()
        try await addBlob(index)
        let indexCID = CID(codec: CID.Codec.car, multihash: .sha256(index))
        let ia = try await invoke("space/index/add", ["index": .link(indexCID)])
        guard ia.out.isOK else { throw HarnessError("index/add failed: \(ia.out)") }
        let ua = try await invoke("upload/add", ["root": .link(result.root), "shards": .list(result.shards.map { .link($0.cid) })])
        guard ua.out.isOK else { throw HarnessError("upload/add failed: \(ua.out)") }
        return result
    }
}
