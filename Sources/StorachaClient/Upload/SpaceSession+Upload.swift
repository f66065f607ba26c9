import Foundation
import IPLD
import Multiformats
import Piece
import SystemIO
import UCAN
import Ucanto
import UnixFS

extension SpaceSession {
    /// A shard once the service holds it.
    public struct StoredShard: Sendable {
        /// The shard's CID (CAR codec).
        public let cid: CID
        /// Its size in bytes.
        public let size: UInt64
        /// Its piece CID, when one was offered (shards of 127 bytes or more).
        public let piece: CID?
        /// Its position in the upload (0 for the first shard packed).
        public let index: Int
        /// `true` when the journal showed it stored already (nothing was sent).
        public let resumed: Bool
    }

    /// Uploads files as `storacha up` does: packs them (see ``Packer``) on a thread of its own and
    /// stores each shard as soon as it is packed — `concurrency` at a time, the packer waiting while that
    /// many are unstored — offering each one's piece (`filecoin/offer`, unless `pieces` is false,
    /// computed while the shard is written); then stores and registers the sharded DAG index and the
    /// upload. `onShard` hears of each stored shard. A shard the service already holds is not sent
    /// again, so running the same upload after an interruption only sends what is missing.
    @discardableResult
    public func upload(_ files: [ImportFile], options: PackOptions = PackOptions(), pieces: Bool = true, concurrency: Int = 4,
                       journal: UploadJournal? = nil,
                       onShard: @escaping @Sendable (StoredShard) async -> Void = { _ in }) async throws -> PackResult {
        try await pipeline(pieces: pieces, concurrency: concurrency, journal: journal, onShard: onShard) { directory, emit in
            try Packer.pack(files, options: options, pieces: pieces, into: directory, onShard: emit)
        }
    }

    /// Uploads the DAG of an existing CAR file, re-sharded (`storacha up --car`); the root is the
    /// CAR's first header root. The pipeline is that of ``upload(_:options:pieces:concurrency:journal:onShard:)``.
    @discardableResult
    public func upload(car: URL, options: PackOptions = PackOptions(), pieces: Bool = true, concurrency: Int = 4,
                       journal: UploadJournal? = nil,
                       onShard: @escaping @Sendable (StoredShard) async -> Void = { _ in }) async throws -> PackResult {
        try await pipeline(pieces: pieces, concurrency: concurrency, journal: journal, onShard: onShard) { directory, emit in
            try Packer.repack(car: car, options: options, pieces: pieces, into: directory, onShard: emit)
        }
    }

    /// Runs `pack` (into a private temporary directory) and stores its shards while it runs; a stored
    /// shard's file is deleted at once. The first failure on either side stops both and is thrown, so a
    /// failing shard never ends in a registered upload.
    func pipeline(pieces: Bool, concurrency: Int, journal: UploadJournal?, onShard: @escaping @Sendable (StoredShard) async -> Void,
                  pack: @escaping @Sendable (URL, @escaping (ShardInfo) throws -> Void) throws -> PackResult) async throws -> PackResult {
        let directory = try PrivateDirectory.makeTemporary(prefix: "storacha-up-")
        defer { try? FileManager.default.removeItem(at: directory) }
        let gate = ShardGate(limit: concurrency)
        let (handOff, continuation) = AsyncStream<(Int, ShardInfo)>.makeStream()
        let result = try await withThrowingTaskGroup(of: PackResult?.self) { group in
            group.addTask {
                defer { continuation.finish() }
                return try await BlockingIO.runOnOwnThread {
                    var packed = 0
                    return try pack(directory) { shard in
                        try gate.enter(shard.cid)
                        continuation.yield((packed, shard))
                        packed += 1
                    }
                }
            }
            group.addTask {
                try await withThrowingTaskGroup(of: Void.self) { stores in
                    for await (index, shard) in handOff {
                        stores.addTask {
                            do {
                                try await store(shard, index: index, pieces: pieces, journal: journal, onShard: onShard)
                                if gate.leave(shard.cid) { try? FileManager.default.removeItem(at: shard.url) }
                            } catch {
                                gate.fail(error)
                                throw error
                            }
                        }
                    }
                    try await stores.waitForAll()
                }
                return nil
            }
            var packed: PackResult?
            do {
                while let next = try await group.next() { packed = packed ?? next }
            } catch {
                gate.fail(error)
                group.cancelAll()
                throw gate.firstFailure ?? error
            }
            guard let packed else { throw ClientError.protocolViolation("packing ended without a result") }
            return packed
        }
        let index = try result.index.archive()
        try await addBlob(index)
        let indexCID = CID(codec: CID.Codec.car, multihash: .sha256(index))
        // Fresh nonces: the service answers a repeated invocation (same CID) from its receipts without running it
        // again, and the same upload may be removed and made again within a second.
        _ = try await invoke("space/index/add", ["index": .link(indexCID)], nonce: UniqueName.make()).requireOK("space/index/add")
        _ = try await invoke("upload/add", ["root": .link(result.root), "shards": .list(result.shards.map { .link($0.cid) })],
                             nonce: UniqueName.make()).requireOK("upload/add")
        return result
    }

    /// Stores one shard (blob, then piece offer) unless the journal and the service agree it is stored.
    func store(_ shard: ShardInfo, index: Int, pieces: Bool, journal: UploadJournal?,
               onShard: @escaping @Sendable (StoredShard) async -> Void) async throws {
        let needsPiece = pieces && shard.size >= Piece.minimumPayload
        if let known = journal?.entry(shard.cid), known.size == shard.size, known.piece != nil || !needsPiece, try await holds(shard) {
            await onShard(StoredShard(cid: shard.cid, size: shard.size, piece: known.piece, index: index, resumed: true))
            return
        }
        try await addBlob(.hashedFile(shard.url, digest: shard.cid.multihash, size: shard.size))
        var pieceCID: CID?
        if needsPiece {
            let piece: Piece
            if let computed = shard.piece { piece = computed } else { piece = try await Piece.of(file: shard.url) }
            try await offer(content: shard.cid, piece: piece.cid)
            pieceCID = piece.cid
        }
        try journal?.record(UploadJournal.Entry(shard: shard.cid, size: shard.size, piece: pieceCID))
        await onShard(StoredShard(cid: shard.cid, size: shard.size, piece: pieceCID, index: index, resumed: false))
    }

    /// Whether the space still holds `shard` (`space/blob/get/0/1`, with a nonce so the answer is fresh).
    func holds(_ shard: ShardInfo) async throws -> Bool {
        let receipt = try await invoke("space/blob/get/0/1", ["digest": .bytes(shard.cid.multihash.bytes)], nonce: UniqueName.make())
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
