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
                                   nonce: UUID().uuidString)
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

    /// A shard once the service holds it.
    public struct StoredShard: Sendable {
        /// The shard's CID (CAR codec).
        public let cid: CID
        /// Its size in bytes.
        public let size: UInt64
        /// Its piece CID, when one was offered (shards of 127 bytes or more).
        public let piece: CID?
        /// How many shards the upload has.
        public let shardCount: Int
        /// Their total size.
        public let totalBytes: UInt64
        /// `true` when the journal showed it stored already (nothing was sent).
        public let resumed: Bool
    }

    /// Uploads files as `storacha up` does: packs them (see ``Packer``), stores the shards —
    /// `concurrency` at a time — and offers each one's piece (`filecoin/offer`, unless `pieces` is
    /// false), stores and registers the sharded DAG index, and registers the upload. `onShard` hears of
    /// each stored shard. A shard the service already holds is not sent again (its allocation has no
    /// address), so running the same upload after an interruption only sends what is missing.
    @discardableResult
    public func upload(_ files: [ImportFile], options: PackOptions = PackOptions(), pieces: Bool = true, concurrency: Int = 4,
                       journal: UploadJournal? = nil,
                       onShard: @escaping @Sendable (StoredShard) async -> Void = { _ in }) async throws -> PackResult {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("storacha-up-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        // Packing reads and hashes files synchronously: it runs on the blocking-I/O pool.
        let result = try await BlockingIO.run { try Packer.pack(files, options: options, into: dir) }
        return try await register(result, pieces: pieces, concurrency: concurrency, journal: journal, onShard: onShard)
    }

    /// Uploads the DAG of an existing CAR file, re-sharded (`storacha up --car`); the root is the
    /// CAR's first header root.
    @discardableResult
    public func upload(car: URL, options: PackOptions = PackOptions(), pieces: Bool = true, concurrency: Int = 4,
                       journal: UploadJournal? = nil,
                       onShard: @escaping @Sendable (StoredShard) async -> Void = { _ in }) async throws -> PackResult {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("storacha-up-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let result = try await BlockingIO.run { try Packer.repack(car: car, options: options, into: dir) }
        return try await register(result, pieces: pieces, concurrency: concurrency, journal: journal, onShard: onShard)
    }

    /// Stores packed shards, then the index, and registers the upload.
    func register(_ result: PackResult, pieces: Bool, concurrency: Int, journal: UploadJournal?,
                  onShard: @escaping @Sendable (StoredShard) async -> Void) async throws -> PackResult {
        try await store(result.shards, pieces: pieces, concurrency: concurrency, journal: journal, onShard: onShard)
        let index = try result.index.archive()
        try await addBlob(index)
        let indexCID = CID(codec: CID.Codec.car, multihash: .sha256(index))
        _ = try await invoke("space/index/add", ["index": .link(indexCID)]).requireOK("space/index/add")
        _ = try await invoke("upload/add", ["root": .link(result.root), "shards": .list(result.shards.map { .link($0.cid) })]).requireOK("upload/add")
        return result
    }

    /// Stores shards (blob, then piece offer), at most `concurrency` at once; the first failure cancels
    /// the rest and is thrown, so a failing shard never ends in a registered upload.
    func store(_ shards: [ShardInfo], pieces: Bool, concurrency: Int, journal: UploadJournal?,
               onShard: @escaping @Sendable (StoredShard) async -> Void) async throws {
        let totalBytes = shards.reduce(UInt64(0)) { $0 + $1.size }
        try await withThrowingTaskGroup(of: Void.self) { group in
            var next = 0
            func launch() {
                let shard = shards[next]
                next += 1
                group.addTask {
                    let needsPiece = pieces && shard.size >= Piece.minimumPayload
                    if let known = journal?.entry(shard.cid), known.size == shard.size, known.piece != nil || !needsPiece, try await holds(shard) {
                        await onShard(StoredShard(cid: shard.cid, size: shard.size, piece: known.piece, shardCount: shards.count,
                                                  totalBytes: totalBytes, resumed: true))
                        return
                    }
                    try await addBlob(.hashedFile(shard.url, digest: shard.cid.multihash, size: shard.size))
                    var pieceCID: CID?
                    if pieces && shard.size >= Piece.minimumPayload {
                        let piece = try await Piece.of(file: shard.url)
                        try await offer(content: shard.cid, piece: piece.cid)
                        pieceCID = piece.cid
                    }
                    try journal?.record(UploadJournal.Entry(shard: shard.cid, size: shard.size, piece: pieceCID))
                    await onShard(StoredShard(cid: shard.cid, size: shard.size, piece: pieceCID, shardCount: shards.count,
                                              totalBytes: totalBytes, resumed: false))
                }
            }
            while next < shards.count && next < max(1, concurrency) { launch() }
            while try await group.next() != nil {
                if next < shards.count { launch() }
            }
        }
    }

    /// Whether the space still holds `shard` (`space/blob/get/0/1`, with a nonce so the answer is fresh).
    func holds(_ shard: ShardInfo) async throws -> Bool {
        let receipt = try await invoke("space/blob/get/0/1", ["digest": .bytes(shard.cid.multihash.bytes)], nonce: UUID().uuidString)
        guard case .ok(let ok) = receipt.out else { return false }
        return ok["blob"]?["size"]?.intValue.map { UInt64($0) == shard.size } ?? false
    }

    /// `filecoin/offer` of a shard's piece, on the agent's own DID as the JS upload client sends it.
    public func offer(content shard: CID, piece: CID) async throws {
        let content = CID(codec: CID.Codec.raw, multihash: shard.multihash)
        let invocation = try Delegation.invoke(issuer: agent, audience: connection.did,
                                               capability: Capability(can: "filecoin/offer", with: agent.did.string,
                                                                      nb: ["content": .link(content), "piece": .link(piece)]),
                                               expiration: .never)
        _ = try await connection.invoke(invocation).requireOK("filecoin/offer")
    }
}
