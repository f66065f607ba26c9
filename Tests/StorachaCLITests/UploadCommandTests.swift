import Foundation
import Testing
import TestSupport

@Suite(.serialized) struct UploadCommandTests {
    /// `up` of a directory, a file and standard input to a running local service; `ls`, `get` and
    /// `rm --shards`, with roots equal to `storacha cid`.
    @Test func upListGetAndRemove() async throws {
        let user = try User()
        defer { user.cleanUp() }
        let server = try await ServiceProcess.start(data: user.data)
        defer { server.stop() }
        _ = try await user.ok(["login", "alice@example.com"])
        _ = try await user.ok(["space", "create", "files", "--no-caution", "--no-recovery"])

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

    @Test func upRefusesBadInputCleanly() async throws {
        let user = try User()
        defer { user.cleanUp() }
        _ = try await user.ok(["login", "alice@example.com"])
        try await user.fails(["up", "README.md"], with: "no current space")
        _ = try await user.ok(["space", "create", "files", "--no-caution", "--no-recovery"])
        try await user.fails(["up", "/nonexistent/file"], with: "does not exist")
        try await user.fails(["rm", "not-a-cid"], with: "not-a-cid is not a CID")
    }
}
