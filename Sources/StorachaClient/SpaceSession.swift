import Foundation
import IPLD
import Multiformats
import Piece
import SystemIO
import UCAN
import Ucanto
import UnixFS

/// An agent acting on one space through a service: it invokes capabilities with its proofs and runs
/// the upload flows of the JS client (`space/blob/add` with PUT and `ucan/conclude`, the sharded DAG
/// index, `upload/add`).
public struct SpaceSession: Sendable {
    /// The service.
    public let connection: ServiceConnection
    /// The agent's key.
    public let agent: Ed25519Signer
    /// The space DID.
    public let space: DID
    /// Proofs that the agent may act on the space (inlined with every invocation).
    public let proofs: [Delegation]

    /// Creates a session.
    public init(connection: ServiceConnection, agent: Ed25519Signer, space: DID, proofs: [Delegation]) {
        self.connection = connection
        self.agent = agent
        self.space = space
        self.proofs = proofs
    }

    /// Invokes `can` on the space.
    public func invoke(_ can: String, _ nb: [String: IPLDValue] = [:], nonce: String? = nil) async throws -> Receipt {
        let inv = try Delegation.invoke(issuer: agent, audience: connection.did, capability: Capability(can: can, with: space.string, nb: nb),
                                        nonce: nonce, proofs: proofs.map { .delegation($0) })
        return try await connection.invoke(inv)
    }

    /// Stores one blob: `space/blob/add`, then the PUT and the `http/put` conclusion when the service
    /// asks for them; returns the `blob/accept` receipt (the location commitment).
    @discardableResult
    public func addBlob(_ bytes: Data) async throws -> (digest: Multihash, accept: Receipt) { try await addBlob(.data(bytes)) }

    /// Stores one blob from memory or streamed from a file (hashed first, then sent as a stream, so a
    /// shard never sits in memory whole).
    @discardableResult
    public func addBlob(_ content: BlobContent) async throws -> (digest: Multihash, accept: Receipt) {
        let (digest, size) = try await content.digest()
        // A fresh nonce: an identical earlier invocation (same second) would replay its old receipt, whose
        // allocation may ask for bytes the service has received since. A new one is answered from what
        // the service holds now, so a stored shard is never sent again.
        let add = try await invoke("space/blob/add", ["blob": ["digest": .bytes(digest.bytes), "size": .integer(IPLDInteger(size))]],
                                   nonce: UniqueName.make())
        _ = try add.requireOK("space/blob/add")
        let effects = add.forkedInvocations
        func task(_ can: String) throws -> Delegation {
            guard let d = effects.first(where: { $0.capabilities.first?.can == can }) ?? effects.first(where: { $0.capabilities.first?.can == "web3.storage/" + can }) else {
                throw ClientError.protocolViolation("mandatory effects not received (\(can))")
            }
            return d
        }
        let allocate = try task("blob/allocate")
        let put = try task("http/put")
        let accept = try task("blob/accept")
        let concluded = effects.filter { $0.capabilities.first?.can == "ucan/conclude" }.compactMap { c -> Receipt? in
            guard case .link(let link)? = c.capabilities[0].nb?["receipt"] else { return nil }
            return try? Receipt(root: link, blocks: c.blocks)
        }
        guard let allocation = concluded.first(where: { $0.ran == allocate.cid }) else { throw ClientError.protocolViolation("no blob/allocate receipt") }
        let putDone = concluded.contains { $0.ran == put.cid && $0.out.isOK }
        let allocated = try allocation.requireOK("blob/allocate")
        if case .map(let address)? = allocated["address"], !putDone {
            guard let url = address["url"]?.stringValue, case .map(let hs)? = address["headers"] else { throw ClientError.protocolViolation("malformed allocation address") }
            var headers: [String: String] = [:]
            for (k, v) in hs { headers[k] = v.stringValue }
            // A fresh body stream for every attempt.
            try await connection.retry.run {
                let r = try await connection.request(.PUT, url, headers: headers, streaming: content.body(size: size))
                guard (200..<300).contains(r.status) else {
                    throw ClientError.http(status: r.status, message: String(decoding: r.body.prefix(1024), as: UTF8.self))
                }
            }
        }
        if !putDone {
            guard case .map(let keys)? = put.facts.first?["keys"], case .map(let inner)? = keys["keys"], case .bytes(let keyBytes)? = inner.values.first else {
                throw ClientError.protocolViolation("the http/put task carries no derived key")
            }
            let derived = try Ed25519Signer(bytes: keyBytes)
            let putReceipt = try Receipt.issue(issuer: derived, ran: .delegation(put), result: .ok([:]))
            let blocks = putReceipt.export()
            var fact: [String: IPLDValue] = [:]
            for (i, b) in blocks.enumerated() { fact[String(i)] = .link(b.cid) }
            let conclude = try Delegation.invoke(issuer: agent, audience: connection.did,
                                                 capability: Capability(can: "ucan/conclude", with: agent.did.string, nb: ["receipt": .link(putReceipt.cid)]),
                                                 expiration: .never, facts: [fact], attachments: blocks)
            _ = try await connection.invoke(conclude).requireOK("ucan/conclude")
        }
        if let inline = concluded.first(where: { $0.ran == accept.cid && $0.out.isOK }) { return (digest, inline) }
        for attempt in 0..<10 {
            if let receipt = try await connection.receipt(for: accept.cid) {
                _ = try receipt.requireOK("blob/accept")
                return (digest, receipt)
            }
            try await Task.sleep(nanoseconds: UInt64(100_000_000 << min(attempt, 4)))
        }
        throw ClientError.missingReceipt("blob/accept \(accept.cid)")
    }
}
