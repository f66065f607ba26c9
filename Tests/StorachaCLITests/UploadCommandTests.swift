import Foundation
import Multiformats
import Testing
import TestSupport

@Suite(.serialized) struct UploadCommandTests {
    /// A user logged in on a running `serve local` (with `arguments`), with a current space "files".
    static func loggedIn(arguments: [String] = []) async throws -> (User, ServiceProcess) {
        let user = try User()
        let server = try await ServiceProcess.start(data: user.data, arguments: arguments)
        _ = try await user.ok(["login", "alice@example.com"])
        _ = try await user.ok(["space", "create", "files", "--no-caution", "--no-recovery"])
        return (user, server)
    }

    /// `up` of a directory, a file and standard input to a running local service; `ls`, `get` and
    /// `rm --shards`, with roots equal to `storacha cid`.
    @Test func upListGetAndRemove() async throws {
        let (user, server) = try await UploadCommandTests.loggedIn()
        defer { user.cleanUp() }
        defer { server.stop() }

        let dir = user.home.appendingPathComponent("album")
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("sub"), withIntermediateDirectories: true)
        let big = lcg(2_200_000, seed: 5)
        try big.write(to: dir.appendingPathComponent("sub/big.bin"))
        try Data("hello".utf8).write(to: dir.appendingPathComponent("note.txt"))

        // A directory in three shards, with their piece CIDs.
        let out = try await user.ok(["up", dir.path, "--shard-size", "1100000", "--json", "--verbose"]).split(separator: "\n")
        let shardLines = try out.dropLast().map { try json(String($0)) }
        #expect(shardLines.count == 3)
        for line in shardLines {
            #expect(((line["shard"] as? [String: Any])?["/"] as? String)?.hasPrefix("bagbaiera") == true)
            #expect(((line["piece"] as? [String: Any])?["/"] as? String)?.hasPrefix("bafkzcib") == true)
        }
        let last = try #require(out.last)
        let root = try #require((try json(String(last))["root"] as? [String: Any])?["/"] as? String)
        #expect(try await user.ok(["cid", dir.path], local: false) == "\(root)\n")

        // A single file without wrapping, and standard input: both are the file's own root.
        let file = dir.appendingPathComponent("note.txt")
        let fileRoot = try await user.ok(["cid", "--no-wrap", file.path], local: false).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(try await user.ok(["up", "--no-wrap", file.path]) == "🐔 \(server.url)/ipfs/\(fileRoot)\n")
        let piped = try await user.run(["up", "--json"], input: big)
        #expect(piped.status == 0, "\(piped.stderr)")
        let bigRoot = try await user.ok(["cid", "--no-wrap", dir.appendingPathComponent("sub/big.bin").path], local: false)
        #expect(piped.stdout == "{\"root\":{\"/\":\"\(bigRoot.trimmingCharacters(in: .whitespacesAndNewlines))\"}}\n")

        // A CAR of the directory, re-sharded: the same root, the CAR's header root.
        let carFile = user.home.appendingPathComponent("album.car")
        _ = try await user.ok(["car", "pack", dir.path, "--output", carFile.path], local: false)
        #expect(try await user.ok(["up", "--car", carFile.path, "--shard-size", "1100000", "--json"]) == "{\"root\":{\"/\":\"\(root)\"}}\n")
        try await user.fails(["up", "--car", carFile.path, carFile.path], with: "multiple CAR files not supported")
        try await user.fails(["up", "--car", file.path], with: "rror")

        // ls shows all three, with shards on request.
        let listed = try await user.ok(["ls"])
        for r in [root, fileRoot] { #expect(listed.contains(r + "\n")) }
        #expect(listed.split(separator: "\n").count == 3)
        let withShards = try await user.ok(["ls", "--shards"])
        for line in shardLines { #expect(withShards.contains(((line["shard"] as? [String: Any])?["/"] as? String) ?? "?")) }
        let entries = try await user.ok(["ls", "--json"]).split(separator: "\n").map { try json(String($0)) }
        #expect(entries.count == 3 && entries.allSatisfy { $0["insertedAt"] is String && $0["shards"] is [Any] })

        // The bytes come back through the gateway.
        let copy = user.home.appendingPathComponent("copy")
        _ = try await user.ok(["get", root, "--gateway", server.url, "-o", copy.path], local: false)
        #expect(try Data(contentsOf: copy.appendingPathComponent("sub/big.bin")) == big)
        #expect(try Data(contentsOf: copy.appendingPathComponent("note.txt")) == Data("hello".utf8))

        // rm --shards: the upload is gone, its shards are no longer served and usage drops.
        let before = try await user.ok(["usage", "report", "--json"])
        _ = try await user.ok(["rm", root, "--shards"])
        #expect(!(try await user.ok(["ls"])).contains(root))
        let gone = try await user.run(["get", root, "--gateway", server.url, "-o", user.home.appendingPathComponent("again").path], local: false)
        #expect(gone.status != 0)
        let after = try await user.ok(["usage", "report", "--json"])
        func final(_ text: String) throws -> Int { ((try json(text)["size"] as? [String: Any])?["final"] as? Int) ?? -1 }
        #expect(try final(after) < final(before))
        #expect(try await user.ok(["open", root]) == "\(server.url)/ipfs/\(root)\n")
    }

    /// A service that answers every third agent message and PUT with 503 still gets whole uploads; a
    /// 4xx stops the upload at once with the service's message.
    @Test func transientFailuresAreRetriedAndClientErrorsAreNot() async throws {
        let (user, server) = try await UploadCommandTests.loggedIn(arguments: ["--fault-every", "3"])
        defer { user.cleanUp() }
        let input = user.home.appendingPathComponent("big.bin")
        let big = lcg(3_300_000, seed: 9)
        try big.write(to: input)
        let out = try await user.ok(["up", "--no-wrap", input.path, "--shard-size", "1100000", "--json"])
        let root = try await user.ok(["cid", "--no-wrap", input.path], local: false).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(out == "{\"root\":{\"/\":\"\(root)\"}}\n")
        let copy = user.home.appendingPathComponent("copy.bin")
        _ = try await user.ok(["get", root, "--gateway", server.url, "-o", copy.path], local: false)
        #expect(try Data(contentsOf: copy) == big)
        server.stop()

        let refusing = try await ServiceProcess.start(data: user.data, arguments: ["--fault-every", "1", "--fault-status", "400"])
        defer { refusing.stop() }
        let started = Date()
        try await user.fails(["up", "--no-wrap", input.path], with: "the service answered HTTP 400: injected fault")
        #expect(Date().timeIntervalSince(started) < 30, "a 4xx must not be retried with backoff")
    }

    /// Connections cut in the middle of responses are retried by `up`; a `get` that runs out of retries
    /// keeps what it fetched, and the same command resumes it: finished files are not written again.
    @Test func droppedConnectionsAreRetriedAndAnInterruptedGetResumes() async throws {
        let (user, server) = try await UploadCommandTests.loggedIn(arguments: ["--fault-every", "3", "--fault-drop"])
        defer { user.cleanUp() }
        let dir = user.home.appendingPathComponent("set")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let big = lcg(3_300_000, seed: 11)
        try Data("first".utf8).write(to: dir.appendingPathComponent("a.txt"))
        try big.write(to: dir.appendingPathComponent("big.bin"))
        try Data("last".utf8).write(to: dir.appendingPathComponent("c.txt"))
        let out = try await user.ok(["up", dir.path, "--shard-size", "1100000", "--json"])
        let root = try await user.ok(["cid", dir.path], local: false).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(out == "{\"root\":{\"/\":\"\(root)\"}}\n")
        server.stop()

        // Every 6th gateway GET is cut off: with one block at a time and a single attempt, the first run ends
        // inside big.bin (which leaf exactly depends on the order the fetches reach the service).
        let gateway = try await ServiceProcess.start(data: user.data, arguments: ["--fault-gateway-every", "6", "--fault-drop"])
        defer { gateway.stop() }
        let copy = user.home.appendingPathComponent("copy")
        let first = try await user.run(["get", root, "--gateway", gateway.url, "-o", copy.path, "--parallel", "1", "--retries", "1"],
                                       local: false)
        #expect(first.status != 0)
        #expect(first.stderr.contains("run the same command again to resume"), "\(first.stderr)")
        #expect(!first.stderr.contains("Fatal error"))
        let partial = user.home.appendingPathComponent(".copy.\(root).storacha-partial")
        let done = partial.appendingPathComponent("a.txt")
        #expect(try Data(contentsOf: done) == Data("first".utf8))
        let part = try FileManager.default.attributesOfItem(atPath: partial.appendingPathComponent(".big.bin.storacha-part").path)
        let kept = (part[.size] as? NSNumber)?.intValue ?? 0
        #expect(kept > 0 && kept < big.count && kept % (1 << 20) == 0, "big.bin was started: \(kept) bytes")
        let inode = try FileManager.default.attributesOfItem(atPath: done.path)[.systemFileNumber] as? NSNumber
        #expect(!FileManager.default.fileExists(atPath: copy.path))

        // The same command with retries finishes it, in parallel, and keeps a.txt as it was.
        let second = try await user.ok(["get", root, "--gateway", gateway.url, "-o", copy.path], local: false)
        #expect(second.isEmpty)
        let again = try await user.run(["get", root, "--gateway", gateway.url, "-o", copy.path], local: false)
        #expect(again.status != 0 && again.stderr.contains("already exists"))
        #expect(try Data(contentsOf: copy.appendingPathComponent("big.bin")) == big)
        #expect(try Data(contentsOf: copy.appendingPathComponent("c.txt")) == Data("last".utf8))
        let same = try FileManager.default.attributesOfItem(atPath: copy.appendingPathComponent("a.txt").path)[.systemFileNumber] as? NSNumber
        #expect(same == inode, "a finished file is not fetched and written again")
        #expect(!FileManager.default.fileExists(atPath: partial.path))
    }

    /// `up` of a 1 GiB file with the default concurrency stays under 200 MiB of peak RSS, and the bytes
    /// come back. Opt-in (STORACHA_SLOW_TESTS=1): it writes about 3 GiB to the temporary directory.
    @Test(.enabled(if: ProcessInfo.processInfo.environment["STORACHA_SLOW_TESTS"] == "1" && FileManager.default.fileExists(atPath: "/usr/bin/time")))
    func oneGiBUpStaysUnder200MiB() async throws {
        let (user, server) = try await UploadCommandTests.loggedIn()
        defer { user.cleanUp() }
        defer { server.stop() }
        let input = user.home.appendingPathComponent("big.bin")
        FileManager.default.createFile(atPath: input.path, contents: nil)
        let handle = try FileHandle(forWritingTo: input)
        let chunk = lcg(1 << 20, seed: 3)
        for i in 0..<1024 {
            var c = chunk
            c[0] = UInt8(truncatingIfNeeded: i)
            c[1] = UInt8(truncatingIfNeeded: i >> 8)
            try handle.write(contentsOf: c)
        }
        try handle.close()
        let up = try await user.run(["up", "--no-wrap", input.path, "--json"], wrapper: ["/usr/bin/time", "-v"])
        #expect(up.status == 0, "\(up.stderr)")
        let rss = up.stderr.split(separator: "\n").first { $0.contains("Maximum resident set size") }
            .flatMap { Int($0.split(separator: ":").last?.trimmingCharacters(in: .whitespaces) ?? "") } ?? Int.max
        #expect(rss < 200 * 1024, "peak RSS \(rss) KiB")
        let root = try #require((try json(up.stdout)["root"] as? [String: Any])?["/"] as? String)
        let copy = user.home.appendingPathComponent("copy.bin")
        _ = try await user.ok(["get", root, "--gateway", server.url, "-o", copy.path], local: false)
        let a = try FileHandle(forReadingFrom: input)
        let b = try FileHandle(forReadingFrom: copy)
        while true {
            let x = try a.read(upToCount: 8 << 20) ?? Data()
            let y = try b.read(upToCount: 8 << 20) ?? Data()
            #expect(x == y)
            if x.isEmpty || x != y { break }
        }
    }

    /// `up` killed after its first shards were stored, then run again: the same root, and the shards
    /// stored before the kill are not sent again (their blob files are the same files).
    @Test func aKilledUploadResumesWithoutResendingShards() async throws {
        let (user, server) = try await UploadCommandTests.loggedIn()
        defer { user.cleanUp() }
        defer { server.stop() }
        let input = user.home.appendingPathComponent("big.bin")
        try lcg(16_000_000, seed: 3).write(to: input)
        let root = try await user.ok(["cid", "--no-wrap", input.path], local: false).trimmingCharacters(in: .whitespacesAndNewlines)
        let args = ["up", "--no-wrap", input.path, "--shard-size", "1100000", "--verbose", "--concurrency", "1",
                    "--network", "local", "--data", user.data.path]

        let process = Process()
        process.executableURL = StorachaBinary.binary
        process.arguments = args
        var env = ProcessInfo.processInfo.environment
        for (k, v) in user.environment { env[k] = v }
        process.environment = env
        let err = Pipe()
        process.standardError = err
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        // Kill -9 once two shards are stored.
        let firstLog = try await offPool { () -> String in
            var text = ""
            while text.components(separatedBy: "Piece CID").count < 3 {
                let chunk = err.fileHandleForReading.availableData
                if chunk.isEmpty { break }
                text += String(decoding: chunk, as: UTF8.self)
            }
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            return text + " [exit \(process.terminationStatus) \(process.terminationReason == .uncaughtSignal ? "signal" : "exit")]"
        }
        func blobFiles() throws -> [String: UInt64] {
            var out: [String: UInt64] = [:]
            let root = user.data.appendingPathComponent("blobs")
            for path in (try? FileManager.default.subpathsOfDirectory(atPath: root.path)) ?? [] {
                let attributes = try FileManager.default.attributesOfItem(atPath: root.appendingPathComponent(path).path)
                let regular = attributes[FileAttributeKey.type] as? FileAttributeType == FileAttributeType.typeRegular
                guard regular, !path.contains(".tmp") else { continue }
                out[path] = (attributes[FileAttributeKey.systemFileNumber] as? NSNumber)?.uint64Value
            }
            return out
        }
        let stored = try blobFiles()
        #expect(stored.count >= 2 && stored.count < 15, "\(stored.count) blobs stored before the kill")
        #expect(!(try await user.ok(["ls"])).contains(root))

        let journal = try FileManager.default.contentsOfDirectory(atPath: user.home.appendingPathComponent(".local/share/storacha/uploads").path)
        #expect(journal.count == 1 && journal[0].hasSuffix(".jsonl"))
        let again = try await user.run(["up", "--no-wrap", input.path, "--shard-size", "1100000", "--verbose"])
        #expect(again.stdout == "🐔 \(server.url)/ipfs/\(root)\n", "\(again.stderr)")
        // The journal let the re-run skip what was acknowledged (checked with space/blob/get, not re-sent).
        #expect(again.stderr.components(separatedBy: "(already stored)").count - 1 >= 2, "\(again.stderr)")
        let after = try blobFiles()
        #expect(after.count > stored.count)
        for (path, inode) in stored {
            #expect(after[path] == inode, "\(path) was written again; before: \(stored.keys.sorted()); log: \(firstLog)")
        }
        #expect(try await user.ok(["ls"]).contains(root))
    }

    /// `can blob|index|upload|filecoin`: an upload made by hand, one capability at a time.
    @Test func canCommandsOneCapabilityEach() async throws {
        let (user, server) = try await UploadCommandTests.loggedIn()
        defer { user.cleanUp() }
        defer { server.stop() }
        try lcg(5000, seed: 1).write(to: user.home.appendingPathComponent("f.bin"))
        let packed = try await user.ok(["car", "pack", "f.bin", "--no-wrap", "--output", "f.car", "--index", "f.index", "--json"], local: false)
            .split(separator: "\n").map { try json(String($0)) }
        let shard = try #require((packed.first?["shard"] as? [String: Any])?["/"] as? String)
        let root = try #require((packed.last?["root"] as? [String: Any])?["/"] as? String)

        let added = try await user.run(["can", "blob", "add", user.home.appendingPathComponent("f.car").path])
        #expect(added.status == 0 && added.stderr.hasPrefix("🐔 Stored zQm") && added.stderr.contains("(bafkrei"), "\(added.stderr)")
        let blobDigest = String(added.stderr.dropFirst("🐔 Stored ".count).prefix { $0 != " " })
        _ = try await user.ok(["can", "blob", "add", user.home.appendingPathComponent("f.index").path])
        #expect(try await user.ok(["can", "blob", "ls"]).contains(blobDigest + " (bafkrei"))
        #expect(try await user.ok(["can", "blob", "ls", "--json", "--size", "1"]).split(separator: "\n").count == 1)
        let indexCID = CID.sha256(codec: CID.Codec.car, try Data(contentsOf: user.home.appendingPathComponent("f.index"))).description
        #expect(try await user.run(["can", "index", "add", indexCID]).stderr == "🐔 Added index \(indexCID)\n")
        #expect(try await user.run(["can", "upload", "add", root, shard]).stderr == "🐔 Upload added \(root)\n")
        #expect(try await user.ok(["can", "upload", "ls"]) == "\(root)\n")
        #expect(try await user.ok(["can", "upload", "ls", "--shards"]).contains("└── \(shard)"))
        let copy = user.home.appendingPathComponent("copy.bin")
        _ = try await user.ok(["get", root, "--gateway", server.url, "-o", copy.path], local: false)
        #expect(try Data(contentsOf: copy) == lcg(5000, seed: 1))
        _ = try await user.ok(["can", "upload", "rm", root])
        #expect(try await user.ok(["can", "upload", "ls"]).isEmpty)
        #expect(try await user.run(["can", "blob", "rm", blobDigest]).stderr == "🐔 Removed \(blobDigest)\n")
        #expect(!(try await user.ok(["can", "blob", "ls"])).contains(blobDigest))
        try await user.fails(["can", "blob", "rm", "nope"], with: "is not a base58btc encoded multihash")
        // A piece offered by `up` is known to filecoin/info.
        let up = try await user.ok(["up", "--no-wrap", user.home.appendingPathComponent("f.bin").path, "--json", "--verbose"])
        let piece = try #require((try json(String(up.split(separator: "\n")[0]))["piece"] as? [String: Any])?["/"] as? String)
        #expect(try await user.ok(["can", "filecoin", "info", piece]).contains("Piece CID: \(piece)"))
    }

    /// `get` and `cat` read through the current network's gateway: on `--network local` with no `serve local`
    /// running, they start the local service for the command, as `up` does.
    @Test func getAndCatUseTheLocalNetworkWithoutAServer() async throws {
        let user = try User()
        defer { user.cleanUp() }
        _ = try await user.ok(["login", "alice@example.com"])
        _ = try await user.ok(["space", "create", "files", "--no-caution", "--no-recovery"])
        let input = user.home.appendingPathComponent("notes.txt")
        let bytes = Data(lcg(300_000, seed: 5).map { 0x61 + $0 % 26 })
        try bytes.write(to: input)
        let root = try await user.ok(["up", "--no-wrap", input.path, "--json"])
        let cid = try #require((try json(root)["root"] as? [String: Any])?["/"] as? String)
        let copy = user.home.appendingPathComponent("copy.txt")
        _ = try await user.ok(["get", cid, "-o", copy.path])
        #expect(try Data(contentsOf: copy) == bytes)
        #expect(try await user.ok(["cat", cid, "--range", "10-19"]) == String(decoding: bytes[10..<20], as: UTF8.self))
        #expect(!FileManager.default.fileExists(atPath: user.data.appendingPathComponent("server.json").path))
        try await user.fails(["get", cid, "--gateway", "http://127.0.0.1:9"], with: "--gateway or --network")
    }

    @Test func upRefusesBadInputCleanly() async throws {
        let user = try User()
        defer { user.cleanUp() }
        _ = try await user.ok(["login", "alice@example.com"])
        try await user.fails(["up", "README.md"], with: "no current space")
        _ = try await user.ok(["space", "create", "files", "--no-caution", "--no-recovery"])
        try await user.fails(["up", "/nonexistent/file"], with: "does not exist")
        try await user.fails(["rm", "not-a-cid"], with: "not-a-cid is not a CID")
        if getuid() != 0 {  // root reads any file
            let locked = user.home.appendingPathComponent("locked.bin")
            try Data("secret".utf8).write(to: locked)
            try FileManager.default.setAttributes([.posixPermissions: 0], ofItemAtPath: locked.path)
            try await user.fails(["up", locked.path], with: "locked.bin")
        }
        // An unreachable service and gateway: one line at once, no hang.
        let nowhere: [String: String?] = ["STORACHA_SERVICE_URL": "http://127.0.0.1:9", "STORACHA_SERVICE_DID": "did:web:localhost"]
        _ = try await user.ok(["whoami"], local: false, env: nowhere)  // the agent's key, made on first use as the JS CLI does
        let started = Date()
        try await user.fails(["login", "bob@example.com"], with: "127.0.0.1:9", local: false, env: nowhere, profile: user.profile("storacha-cli"))
        try await user.fails(["get", "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy", "--gateway",
            "http://127.0.0.1:9", "--retries", "2"],
                             with: "127.0.0.1:9", local: false, profile: user.profile("storacha-cli"))
        try await user.fails(["get", "bafy-not-a-cid", "--gateway", "http://127.0.0.1:9"], with: "does not start with a CID", local: false,
                             profile: user.profile("storacha-cli"))
        #expect(Date().timeIntervalSince(started) < 30)
        // A service that cuts every connection: `up` gives up after its retries with one line.
        let server = try await ServiceProcess.start(data: user.data, arguments: ["--fault-every", "1", "--fault-drop"])
        defer { server.stop() }
        let input = user.home.appendingPathComponent("x.bin")
        try lcg(5000, seed: 2).write(to: input)
        try await user.fails(["up", input.path, "--retries", "2"], with: "cannot reach the service")
    }
}
