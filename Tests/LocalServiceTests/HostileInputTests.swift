import CAR
import Foundation
import IPLD
import LocalService
import Multiformats
import NIOHTTP1
import StorachaClient
import Testing
import TestSupport
import UCAN
import Ucanto
import UnixFS

/// A `storacha serve local` child with a logged-in, provisioned world: a trap in the service shows up
/// as a dead child and a failed check, not as a crashed test runner.
struct HostileService {
    let process: ServiceProcess
    let world: World
    let dir: URL

    static func start() async throws -> HostileService {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("storacha-hostile-\(UUID().uuidString)")
        let process = try await ServiceProcess.start(data: dir)
        let world = try await World.attach(url: process.url, did: process.did, dataDirectory: dir)
        return HostileService(process: process, world: world, dir: dir)
    }

    func stop() {
        process.stop()
        try? FileManager.default.removeItem(at: dir)
    }

    /// `true` while the child runs and answers `GET /`.
    func healthy() async -> Bool {
        guard process.process.isRunning else { return false }
        return (try? await world.client.request(.GET, "/").status) == 200
    }

    /// Peak resident memory of the child (Linux `VmHWM`), in bytes.
    var peakRSS: UInt64? {
        guard let status = try? String(contentsOfFile: "/proc/\(process.process.processIdentifier)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
              let kb = UInt64(line.split(separator: " ").dropFirst().first ?? "") else { return nil }
        return kb * 1024
    }

    /// Stores `blocks` as one shard with an index and registers the upload of `root`: the DAG is the
    /// attacker's, every block matches its CID.
    func uploadRaw(_ blocks: [Block], root: CID) async throws {
        let car = CAREncoder.encode(roots: [root], blocks: blocks)
        let shard = CID(codec: CID.Codec.car, multihash: .sha256(car))
        var index = ShardedDAGIndex(content: root)
        var reader = try CARReader(source: MemoryByteSource(car))
        while let b = try reader.next() {
            index.setSlice(shard: shard.multihash, slice: b.block.cid.multihash,
                           .init(offset: UInt64(b.dataOffset), length: UInt64(b.block.bytes.count)))
        }
        index.setSlice(shard: shard.multihash, slice: shard.multihash, .init(offset: 0, length: UInt64(car.count)))
        try await world.addBlob(car)
        let archive = try index.archive()
        try await world.addBlob(archive)
        let indexCID = CID(codec: CID.Codec.car, multihash: .sha256(archive))
        #expect(try await world.invoke("space/index/add", ["index": .link(indexCID)]).out.isOK)
        #expect(try await world.invoke("upload/add", ["root": .link(root), "shards": [.link(shard)]]).out.isOK)
    }
}

/// A dag-pb UnixFS file node.
func fileNode(links: [CID], blocksizes: [UInt64], filesize: UInt64?, data: [UInt8]? = nil) -> Block {
    let unixfs = UnixFSData(kind: .file, data: data, filesize: filesize, blocksizes: blocksizes).encode()
    let bytes = DAGPB.encode(PBNode(links: links.map { PBLink(hash: $0, tsize: 0) }, data: unixfs))
    return Block(codec: DAGPB.code, bytes: Data(bytes))
}

@Suite(.serialized) struct HostileInputTests {
    /// Every `Range` header gets its status (numbers near 2^64 included) and the service keeps serving.
    @Test func hostileRangeHeaders() async throws {
        let svc = try await HostileService.start()
        defer { svc.stop() }
        let big = lcg(300_000, seed: 3)
        let result = try await svc.world.upload([ImportFile(name: "big.bin", data: big), ImportFile(name: "empty.txt", data: Data())])
        let file = "/ipfs/\(result.root)/big.bin"
        let empty = "/ipfs/\(result.root)/empty.txt"
        let leaf = CID.sha256(codec: CID.Codec.raw, big.prefix(1 << 20))
        let raw = "/ipfs/\(leaf)?format=raw"
        let shard = "/ipfs/\(result.shards[0].cid)"
        let blob = "/blob/\(result.shards[0].cid.multihash)"
        let max = "18446744073709551615"
        let cases: [(String, String, Int)] = [
            (file, "bytes=0-\(max)", 206), (file, "bytes=0-99999999999999999999999", 206), (file, "bytes=-\(max)", 206),
            (file, "bytes=\(max)-", 416), (file, "bytes=\(max)-\(max)", 416), (file, "bytes=5-2", 416), (file, "bytes=-0", 416),
            (file, "bytes=300000-", 416), (file, "bytes=299999-", 206), (file, "bytes=abc", 400), (file, "bytes=--1", 400),
            (file, "bytes=-", 400), (file, "bytes=1-2-3", 400), (file, "bytes=0x10-", 400), (file, "bytes= 1 - 2 ", 206),
            (file, "items=0-5", 200), (file, "bytes=0-0,5-9", 206),
            (empty, "bytes=-5", 416), (empty, "bytes=0-", 416), (empty, "bytes=-\(max)", 416), (empty, "bytes=0-\(max)", 416),
            (raw, "bytes=0-\(max)", 206), (raw, "bytes=-\(max)", 206), (raw, "bytes=\(max)-", 416),
            (shard, "bytes=0-\(max)", 206), (shard, "bytes=\(max)-", 416), (shard, "bytes=-1", 206),
            (blob, "bytes=0-\(max)", 206), (blob, "bytes=-\(max)", 206), (blob, "bytes=\(max)-1", 416), (blob, "bytes=x-", 400),
        ]
        for (path, range, expected) in cases {
            for method in [HTTPMethod.GET, .HEAD] {
                let r = try await svc.world.client.request(method, path, headers: ["range": range])
                #expect(r.status == expected, "\(method) \(path) \(range)")
                #expect(await svc.healthy(), "the service survives \(method) \(path) with \(range)")
            }
        }
        let whole = try await svc.world.client.request(.GET, file, headers: ["range": "bytes=0-\(max)"])
        #expect(whole.body == big && whole.headers["content-range"] == "bytes 0-299999/300000")
        let tail = try await svc.world.client.request(.GET, file, headers: ["range": "bytes=-\(max)"])
        #expect(tail.body == big)
        let unsatisfiable = try await svc.world.client.request(.GET, file, headers: ["range": "bytes=\(max)-"])
        #expect(unsatisfiable.headers["content-range"] == "bytes */300000")
    }

    /// `entity-bytes` with extreme, negative and malformed values.
    @Test func hostileEntityBytes() async throws {
        let svc = try await HostileService.start()
        defer { svc.stop() }
        let big = lcg(2_300_000, seed: 5)
        let result = try await svc.world.upload([ImportFile(name: "big.bin", data: big)])
        let path = "/ipfs/\(result.root)/big.bin?format=car&dag-scope=entity"
        let max = "18446744073709551615"
        let cases: [(String, Int)] = [
            ("0:\(Int64.max)", 200), ("0:*", 200), ("\(Int64.max):*", 200), ("-1:*", 200), ("\(Int64.min):\(Int64.max)", 200),
            ("-5:-1", 200), ("1048576:1048577", 200), ("5:2", 200), ("0:\(max)", 400), ("\(max):*", 400), ("abc:def", 400),
            ("1", 400), ("1:2:3", 400), (":", 400), ("", 400),
        ]
        for (spec, expected) in cases {
            let r = try await svc.world.client.request(.GET, path + "&entity-bytes=\(spec)")
            #expect(r.status == expected, "entity-bytes=\(spec)")
            if expected == 200 { #expect((try? CARReader.readAll(r.body)) != nil, "entity-bytes=\(spec) gives a whole CAR") }
            #expect(await svc.healthy(), "the service survives entity-bytes=\(spec)")
        }
        // The middle byte range carries the root and only the leaves it needs.
        let middle = try await svc.world.client.request(.GET, path + "&entity-bytes=1048576:1048577")
        let (_, blocks) = try CARReader.readAll(middle.body)
        #expect(blocks.count == 3, "the directory, the file node and the one leaf")
    }

    /// A DAG that lies about sizes (overflowing, short, impossibly large) is an error, never a trap,
    /// at the gateway and in `storacha cat`; a DAG of shared subtrees costs its blocks, not its paths.
    @Test func hostileDAGs() async throws {
        let svc = try await HostileService.start()
        defer { svc.stop() }
        let leaf = Block(codec: CID.Codec.raw, bytes: Data("hello".utf8))
        let overflow = fileNode(links: [leaf.cid, leaf.cid], blocksizes: [UInt64.max, 5], filesize: 10)
        let short = fileNode(links: [leaf.cid], blocksizes: [3], filesize: 3)
        let long = fileNode(links: [leaf.cid], blocksizes: [9], filesize: 9)
        let huge = fileNode(links: [leaf.cid], blocksizes: [5], filesize: UInt64.max)
        let wrongTotal = fileNode(links: [leaf.cid, leaf.cid], blocksizes: [5, 5], filesize: 7)
        // 48 levels, each linking the level below twice: 5 × 2^48 bytes from 49 blocks.
        var diamond = leaf
        var diamondBlocks = [leaf]
        var size: UInt64 = 5
        for _ in 0..<48 {
            diamond = fileNode(links: [diamond.cid, diamond.cid], blocksizes: [size, size], filesize: size * 2)
            size *= 2
            diamondBlocks.append(diamond)
        }
        let bad = [overflow, short, long, huge, wrongTotal]
        for node in bad { try await svc.uploadRaw([leaf, node], root: node.cid) }
        try await svc.uploadRaw(diamondBlocks, root: diamond.cid)
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("hostile-cat-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        for node in bad {
            for query in ["", "?format=car", "?format=car&entity-bytes=0:*", "?format=car&entity-bytes=3:8", "?format=raw"] {
                // A CAR streams: an error found deep in the DAG ends the stream early, which is what the client sees.
                let r = try? await svc.world.client.request(.GET, "/ipfs/\(node.cid)\(query)", headers: ["range": "bytes=0-"])
                if query.isEmpty { #expect(r?.status == 502, "\(node.cid) is refused as invalid UnixFS") }
                #expect(await svc.healthy(), "the service survives \(node.cid)\(query)")
            }
            let cat = try await runCLI(["cat", node.cid.description, "--gateway", svc.world.client.url], in: work)
            #expect(cat.status != 0 && cat.status < 128 && cat.stderr.contains("invalid UnixFS"), "cat of \(node.cid): \(cat.stderr)")
            #expect(cat.stderr.split(separator: "\n").count == 1)
        }
        // Shared subtrees: a ranged read and a whole-DAG CAR both finish at once.
        let t0 = Date()
        let range = try await svc.world.client.request(.GET, "/ipfs/\(diamond.cid)", headers: ["range": "bytes=1000000000000-1000000000009"])
        #expect(range.status == 206 && range.body == Data("hellohello".utf8))
        let car = try await svc.world.client.request(.GET, "/ipfs/\(diamond.cid)?format=car")
        let (_, carBlocks) = try CARReader.readAll(car.body)
        #expect(carBlocks.count == diamondBlocks.count)
        let ranged = try await svc.world.client.request(.GET, "/ipfs/\(diamond.cid)?format=car&entity-bytes=7:\(Int64(size) - 3)")
        #expect((try? CARReader.readAll(ranged.body))?.blocks.count == diamondBlocks.count)
        #expect(Date().timeIntervalSince(t0) < 10, "shared subtrees are walked once")
        #expect(await svc.healthy())
    }

    /// Index offsets beyond 2^63 and bad cursors are receipt errors; the service keeps serving.
    @Test func hostileIndexAndCursors() async throws {
        let svc = try await HostileService.start()
        defer { svc.stop() }
        let result = try await svc.world.upload([ImportFile(name: "a.txt", data: Data("a".utf8))])
        for (offset, length) in [(UInt64.max, UInt64(1)), (UInt64(1) << 63, 1), (UInt64(Int64.max), 2), (5, UInt64.max)] {
            var index = ShardedDAGIndex(content: result.root)
            index.setSlice(shard: result.shards[0].cid.multihash, slice: result.root.multihash, .init(offset: offset, length: length))
            let archive = try index.archive()
            try await svc.world.addBlob(archive)
            let add = try await svc.world.invoke("space/index/add", ["index": .link(CID(codec: CID.Codec.car, multihash: .sha256(archive)))])
            #expect(add.out.errorName == "DecodeFailure", "offset \(offset) length \(length): \(add.out)")
            #expect(await svc.healthy())
        }
        // A blob that is not an index at all, read as a stream.
        let junk = lcg(3_000_000, seed: 9)
        try await svc.world.addBlob(junk)
        let junkAdd = try await svc.world.invoke("space/index/add", ["index": .link(CID(codec: CID.Codec.car, multihash: .sha256(junk)))])
        #expect(junkAdd.out.errorName == "DecodeFailure")
        for cursor in ["-1", "-9223372036854775808", "9223372036854775807", "2", "not-a-shard"] {
            let r = try await svc.world.invoke("upload/shard/list", ["root": .link(result.root), "cursor": .string(cursor)])
            #expect(r.out.errorName == "InvalidCursor", "cursor \(cursor)")
        }
        #expect(try await svc.world.invoke("upload/shard/list", ["root": .link(result.root), "cursor": "0"]).out.isOK)
        for cursor in ["-1", "-9223372036854775808", "garbage", String(repeating: "9", count: 40)] {
            #expect(try await svc.world.invoke("upload/list", ["cursor": .string(cursor)]).out.isOK)
            #expect(try await svc.world.invoke("upload/list", ["cursor": .string(cursor), "pre": true]).out.isOK)
            #expect(try await svc.world.invoke("space/blob/list", ["cursor": .string(cursor)]).out.isOK)
        }
        for size in [IPLDValue.integer(IPLDInteger(0)), .integer(IPLDInteger(isNegative: false, magnitude: UInt64.max))] {
            let r = try await svc.world.invoke("upload/list", ["size": size])
            #expect(r.out.isOK, "size \(size): \(r.out)")
        }
        for size in [IPLDValue.integer(IPLDInteger(Int64.min)), -1] {
            #expect(try await svc.world.invoke("upload/list", ["size": size]).out.errorName == "Unauthorized", "negative size \(size)")
        }
        #expect(await svc.healthy())
    }

    /// A diamond of delegations (each level citing both delegations of the next) is answered at once,
    /// and too-deep chains or too many blocks are refused with the limit named.
    @Test func diamondDelegationsAndLimits() async throws {
        let svc = try await HostileService.start()
        defer { svc.stop() }
        let principals = (0...60).map { _ in Ed25519Signer.generate() }
        let space = svc.world.space.did.string
        // Level 60 is issued by a principal that does not own the space: every one of the 2^60 paths fails.
        var level: [Delegation] = []
        for i in stride(from: 60, to: 0, by: -1) {
            let issuer = principals[i]
            level = try (0..<2).map { n in
                try Delegation.delegate(issuer: issuer, audience: principals[i - 1].did,
                                        capabilities: [Capability(can: "space/info", with: space)], expiration: .never,
                                        nonce: "\(i)-\(n)", proofs: level.map { .delegation($0) })
            }
        }
        func invocation(_ proofs: [Delegation]) throws -> Delegation {
            try Delegation.invoke(issuer: principals[0], audience: svc.world.client.did, capability: Capability(can: "space/info", with: space),
                                  nonce: UUID().uuidString, proofs: proofs.map { .delegation($0) })
        }
        /// The fastest of three answers (fresh invocations each), so that a busy test machine does not decide.
        func answer(_ proofs: [Delegation]) async throws -> (Receipt, TimeInterval) {
            var best = TimeInterval.infinity
            var last: Receipt?
            for _ in 0..<3 {
                let inv = try invocation(proofs)
                let t0 = Date()
                last = try await svc.world.client.invoke(inv)
                best = min(best, Date().timeIntervalSince(t0))
            }
            guard let last else { throw HarnessError("no answer") }
            return (last, best)
        }
        #expect(try invocation(level).export().count == 121)
        let (receipt, elapsed) = try await answer(level)
        #expect(!receipt.out.isOK)
        #expect(receipt.out.errorName == "LimitExceeded", "\(receipt.out)")
        // Exponential work would take hours; the bound is loose so that a busy machine does not decide.
        #expect(elapsed < 10, "answered in \(elapsed) s")
        print("diamond of 120 delegations (2^60 paths) answered in \(Int(elapsed * 1000)) ms")
        // Within the depth limit, a wide diamond is searched once per delegation.
        var shallow: [Delegation] = []
        for i in stride(from: 30, to: 0, by: -1) {
            shallow = try (0..<2).map { n in
                try Delegation.delegate(issuer: principals[i], audience: principals[i - 1].did,
                                        capabilities: [Capability(can: "space/info", with: space)], expiration: .never,
                                        nonce: "s\(i)-\(n)", proofs: shallow.map { .delegation($0) })
            }
        }
        let (answer1, elapsed1) = try await answer(shallow)
        #expect(answer1.out.errorName == "Unauthorized")
        // 2^30 paths would take hours; 60 distinct delegations take milliseconds.
        #expect(elapsed1 < 10, "answered in \(elapsed1) s")
        print("diamond of 60 delegations within the depth limit answered in \(Int(elapsed1 * 1000)) ms")
        // Too many blocks in one message.
        let invocation = try invocation(level)
        var blocks = invocation.export()
        for i in 0..<AgentMessage.maxBlocks { blocks.append(Block(codec: CID.Codec.raw, bytes: Data("\(i)".utf8))) }
        let root = try Block(dagCBOR: [AgentMessage.version: ["execute": [.link(invocation.cid)]]])
        let body = CAREncoder.encode(roots: [root.cid], blocks: blocks + [root])
        let r = try await svc.world.client.request(.POST, "/", headers: ["content-type": AgentMessage.contentType], body: body)
        #expect(r.status == 400 && String(decoding: r.body, as: UTF8.self).contains("more than \(AgentMessage.maxBlocks) blocks"))
        #expect(await svc.healthy())
    }

    /// Identical PUTs at once all succeed over HTTP (content-addressed writes are idempotent).
    @Test func storageRaces() async throws {
        let svc = try await HostileService.start()
        defer { svc.stop() }
        let client = svc.world.client
        for round in 0..<20 {
            let bytes = lcg(4096, seed: UInt32(round))
            let digest = Multihash.sha256(bytes)
            let blob: IPLDValue = ["digest": .bytes(digest.bytes), "size": .integer(IPLDInteger(bytes.count))]
            let add = try await svc.world.invoke("space/blob/add", ["blob": blob])
            let effects = add.forkedInvocations
            let allocate = effects.first { $0.capabilities.first?.can == "blob/allocate" }
            let concluded = effects.filter { $0.capabilities.first?.can == "ucan/conclude" }.compactMap { c -> Receipt? in
                guard case .link(let link)? = c.capabilities[0].nb?["receipt"] else { return nil }
                return try? Receipt(root: link, blocks: c.blocks)
            }
            guard let allocateCID = allocate?.cid, let receipt = concluded.first(where: { $0.ran == allocateCID }),
                  case .map(let address)? = receipt.out.okValue?["address"], let url = address["url"]?.stringValue,
                  case .map(let hs)? = address["headers"] else {
                Issue.record("no PUT address in the allocation")
                return
            }
            var headers: [String: String] = [:]
            for (k, v) in hs { headers[k] = v.stringValue }
            let putHeaders = headers
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<16 { group.addTask { try await client.request(.PUT, url, headers: putHeaders, body: bytes).status } }
                var out: [Int] = []
                for try await s in group { out.append(s) }
                return out
            }
            #expect(statuses == Array(repeating: 200, count: 16), "round \(round): \(statuses)")
        }
        #expect(await svc.healthy())
    }

    /// A removal racing an add of the same bytes in another space never leaves a blob registered in a
    /// space without its file (in process, so that the two invocations really overlap).
    @Test func removeDuringAddKeepsRegisteredBytes() async throws {
        let world = try await World.start()
        defer { Task { await world.stop() } }
        var other = try await World.attach(url: world.running.url, did: world.running.did, dataDirectory: world.dataDirectory)
        other.running = nil
        let service = world.running.service
        var lost = 0
        for round in 0..<150 {
            let data = lcg(2_000 + round, seed: UInt32(100 + round))
            let d = Multihash.sha256(data)
            try await world.addBlob(data)
            let blob: IPLDValue = ["digest": .bytes(d.bytes), "size": .integer(IPLDInteger(data.count))]
            let addition = try other.spaceInvocation("space/blob/add", ["blob": blob], nonce: UUID().uuidString)
            let removal = try world.spaceInvocation("space/blob/remove", ["digest": .bytes(d.bytes)], nonce: UUID().uuidString)
            async let added = service.execute(addition)
            async let removed = service.execute(removal)
            _ = try await (added, removed)
            let registered = try await other.invoke("space/blob/get/0/1", ["digest": .bytes(d.bytes)]).out.isOK
            if registered && !service.hasBlob(d) { lost += 1 }
        }
        #expect(lost == 0, "\(lost) blobs are registered in a space but their bytes are gone")
    }

    /// Deterministic order of the same race: two spaces are handed PUT URLs for one blob; the first stores
    /// and accepts it, the second PUTs, then the first removes it before the second concludes. The second's
    /// acknowledged PUT must not be lost: a file is deleted only when no allocation awaits it.
    @Test func removeBeforeAnotherSpaceConcludesKeepsItsBytes() async throws {
        let world = try await World.start()
        defer { Task { await world.stop() } }
        var other = try await World.attach(url: world.running.url, did: world.running.did, dataDirectory: world.dataDirectory)
        other.running = nil
        let data = lcg(50_000, seed: 404)
        let digest = Multihash.sha256(data)
        let blob: IPLDValue = ["digest": .bytes(digest.bytes), "size": .integer(IPLDInteger(data.count))]
        func allocate(_ w: World) async throws -> (url: String, headers: [String: String], put: Delegation) {
            let add = try await w.invoke("space/blob/add", ["blob": blob])
            let effects = add.forkedInvocations
            let concluded = effects.filter { $0.capabilities.first?.can == "ucan/conclude" }.compactMap { c -> Receipt? in
                guard case .link(let link)? = c.capabilities[0].nb?["receipt"] else { return nil }
                return try? Receipt(root: link, blocks: c.blocks)
            }
            guard let allocate = effects.first(where: { $0.capabilities.first?.can == "blob/allocate" }),
                  let put = effects.first(where: { $0.capabilities.first?.can == "http/put" }),
                  let receipt = concluded.first(where: { $0.ran == allocate.cid }),
                  case .map(let address)? = receipt.out.okValue?["address"], let url = address["url"]?.stringValue,
                  case .map(let hs)? = address["headers"] else { throw HarnessError("no PUT address") }
            var headers: [String: String] = [:]
            for (k, v) in hs { headers[k] = v.stringValue }
            return (url, headers, put)
        }
        func conclude(_ w: World, _ put: Delegation) async throws -> Receipt {
            guard case .map(let keys)? = put.facts.first?["keys"], case .map(let inner)? = keys["keys"],
                  case .bytes(let keyBytes)? = inner.values.first else { throw HarnessError("no derived key") }
            let derived = try Ed25519Signer(bytes: keyBytes)
            let receipt = try Receipt.issue(issuer: derived, ran: .delegation(put), result: .ok([:]))
            let blocks = receipt.export()
            var fact: [String: IPLDValue] = [:]
            for (i, b) in blocks.enumerated() { fact[String(i)] = .link(b.cid) }
            let capability = Capability(can: "ucan/conclude", with: w.agent.did.string, nb: ["receipt": .link(receipt.cid)])
            let inv = try Delegation.invoke(issuer: w.agent, audience: w.client.did, capability: capability,
                                            expiration: .never, facts: [fact], attachments: blocks)
            return try await w.client.invoke(inv)
        }
        let first = try await allocate(world)
        let second = try await allocate(other)
        #expect(try await world.client.request(.PUT, first.url, headers: first.headers, body: data).status == 200)
        #expect(try await conclude(world, first.put).out.isOK)
        #expect(try await other.client.request(.PUT, second.url, headers: second.headers, body: data).status == 200)
        #expect(try await world.invoke("space/blob/remove", ["digest": .bytes(digest.bytes)]).out.isOK)
        let concluded = try await conclude(other, second.put)
        #expect(concluded.out.isOK, "the second space's acknowledged PUT is accepted: \(concluded.out)")
        #expect(try await other.invoke("space/blob/get/0/1", ["digest": .bytes(digest.bytes)]).out.isOK)
        #expect(world.running.service.hasBlob(digest))
    }
}
