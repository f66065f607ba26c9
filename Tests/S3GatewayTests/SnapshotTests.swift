import Crypto
import Foundation
import Multiformats
import Testing
import TestSupport
@testable import S3Gateway

/// Buckets that live on Storacha: snapshots, recovery from the space alone, and what a snapshot adds.
@Suite(.serialized) struct SnapshotTests {
    static func env(_ home: URL) -> [String: String?] {
        ["HOME": home.path, "XDG_DATA_HOME": nil, "XDG_CONFIG_HOME": nil, "RCLONE_CONFIG": nil, "STORACHA_NETWORK": nil]
    }

    /// `storacha s3 snapshots BUCKET --json` of a gateway's data directory.
    static func snapshots(_ bucket: String, _ gateway: GatewayProcess) async throws -> [[String: Any]] {
        let r = try await StorachaBinary.run(["s3", "snapshots", bucket, "--local", "--data", gateway.data.path, "--json"], in: gateway.home,
                                             environment: env(gateway.home))
        #expect(r.status == 0, "\(r.stderr)")
        return r.stdout.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }

    static func write(_ files: [String: Data], under root: URL) throws {
        for (path, data) in files {
            let url = root.appendingPathComponent(path)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try data.write(to: url)
        }
    }

    /// Fill a bucket through rclone, stop the gateway, delete its data directory, start a new one on the same agent
    /// and space: every key comes back with its metadata, `check --download` passes, a second sync sends nothing.
    @Test(.enabled(if: !rclones.isEmpty, "needs rclone (.ci/run installs it)"))
    func bucketsAreRebuiltFromStorachaAlone() async throws {
        let home = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: home) }
        let rclone = rclones[rclones.count - 1]
        let gateway = try await GatewayProcess.start(home: home)
        defer { gateway.stop() }
        let src = home.appendingPathComponent("src")
        try SnapshotTests.write([
            "a.txt": Data("hello\n".utf8), "empty.txt": Data(), "nested/deeper/deepest/f.bin": lcg(100_000, seed: 3),
            "日本/ファイル.txt": Data("こんにちは".utf8), "spaced name é.txt": Data("ünï côdé\n".utf8),
            "meta.txt": Data("colored".utf8),
        ], under: src)
        try FileManager.default.createDirectory(at: src.appendingPathComponent("multi"), withIntermediateDirectories: true)
        _ = try RcloneTests.writeLarge(src.appendingPathComponent("multi/12MB.bin"), size: 12_000_000)
        let rc = try gateway.rclone(rclone)
        func ok(_ rc: @Sendable ([String]) async throws -> StorachaBinary.Result, _ args: [String],
                sourceLocation: SourceLocation = #_sourceLocation) async throws -> String {
            let r = try await rc(args)
            #expect(r.status == 0, "rclone \(args): \(r.stderr)", sourceLocation: sourceLocation)
            return r.stdout
        }
        _ = try await ok(rc, ["mkdir", "st:photos"])
        // In 5 MB parts: a multipart object with an `md5-of-parts-N` ETag.
        _ = try await ok(rc, ["copy", "--s3-upload-cutoff", "5M", "--s3-chunk-size", "5M", "--exclude", "meta.txt", src.path, "st:photos"])
        // Custom metadata and a content type of its own.
        _ = try await ok(rc, ["copyto", "--header-upload", "X-Amz-Meta-Color: blue", "--header-upload", "Content-Type: text/x-custom",
                              src.appendingPathComponent("meta.txt").path, "st:photos/meta.txt"])
        let metaBefore = try await ok(rc, ["lsjson", "-M", "st:photos/meta.txt"])
        #expect(metaBefore.contains("\"color\":\"blue\"") && metaBefore.contains("text/x-custom"), "\(metaBefore)")
        let listingBefore = try await ok(rc, ["lsjson", "-R", "--files-only", "st:photos"])
        try await gateway.settled()
        #expect(try await gateway.terminate() == 0)
        let firstLog = (try? String(contentsOf: gateway.log, encoding: .utf8)) ?? ""
        #expect(firstLog.contains("snapshot 1 of bucket photos"), "\(firstLog)")
        try FileManager.default.removeItem(at: gateway.data)

        let fresh = try await GatewayProcess.start(home: home)
        defer { fresh.stop() }
        let log = (try? String(contentsOf: fresh.log, encoding: .utf8)) ?? ""
        #expect(log.contains("recovered bucket photos: 7 objects"), "\(log)")
        let rc2 = try fresh.rclone(rclone)
        #expect(try await ok(rc2, ["lsjson", "-R", "--files-only", "st:photos"]) == listingBefore)
        _ = try await ok(rc2, ["check", "--download", src.path, "st:photos"])
        let again = try await rc2(["sync", "-v", src.path, "st:photos"])
        #expect(again.status == 0 && !again.stderr.contains("Copied"), "\(again.stderr)")
        #expect(try await ok(rc2, ["lsjson", "-M", "st:photos/meta.txt"]) == metaBefore)
        // The recovered snapshot is listed, and its tree resolves keys to their uploads.
        let listed = try await SnapshotTests.snapshots("photos", fresh)
        #expect(listed.count == 1, "\(listed)")
    }

    /// A change deep in a tree of 1,000 objects: the next snapshot adds the directory and metadata nodes on its
    /// path and the manifest, nothing else, and its tree resolves the new object. (Snapshots wait for a quiet moment
    /// here, not at most 30 s: a slow machine would otherwise make so many during the copy that the next one, reusing
    /// blocks from more than ``SnapshotBuild/maxInheritedStores`` earlier uploads, is written whole, as designed.)
    @Test(.enabled(if: !rclones.isEmpty, "needs rclone (.ci/run installs it)"))
    func aDeepChangeAddsOnlyTheBlocksOnItsPath() async throws {
        let home = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: home) }
        let gateway = try await GatewayProcess.start(home: home, environment: ["STORACHA_SNAPSHOT_LONGEST": "3600"])
        defer { gateway.stop() }
        let src = home.appendingPathComponent("src")
        var files: [String: Data] = [:]
        for i in 0..<999 { files["d\(i / 100)/s\(i / 10 % 10)/f\(i % 10).txt"] = Data("file \(i)\n".utf8) }
        files["d0/s0/x/y/z/deep.txt"] = Data("before\n".utf8)
        try SnapshotTests.write(files, under: src)
        let rc = try gateway.rclone(rclones[0])
        #expect(try await rc(["mkdir", "st:tree"]).status == 0)
        let started = ContinuousClock.now
        let copied = try await rc(["copy", src.path, "st:tree"])
        #expect(copied.status == 0, "\(copied.stderr)")
        try await gateway.settled()
        let before = try await SnapshotTests.snapshots("tree", gateway)
        let seq = before.first?["seq"] as? Int ?? 0
        let seconds = Int((ContinuousClock.now - started).components.seconds)
        #expect(seq >= 1 && seq <= SnapshotBuild.maxInheritedStores, "\(seq) snapshots in \(seconds) s")

        try Data("after\n".utf8).write(to: src.appendingPathComponent("d0/s0/x/y/z/deep.txt"))
        #expect(try await rc(["copy", src.path, "st:tree"]).status == 0)
        try await gateway.settled()
        let after = try await SnapshotTests.snapshots("tree", gateway)
        #expect(after.first?["seq"] as? Int == seq + 1, "\(after)")
        // root, d0, d0/s0, x, y, z: six directory nodes and their six metadata nodes, and the manifest.
        #expect(after.first?["addedBlocks"] as? Int == 13, "\(after)")
        // The new snapshot's tree resolves the path to the new bytes, through the local service's gateway.
        let root = after.first?["root"] as? String ?? ""
        let server = home.appendingPathComponent(".local/share/storacha/local/server.json")
        let url = (try JSONSerialization.jsonObject(with: Data(contentsOf: server)) as? [String: Any])?["url"] as? String ?? ""
        let cat = try await StorachaBinary.run(["cat", "--gateway", url, "\(root)/d0/s0/x/y/z/deep.txt"], in: home,
                                               environment: SnapshotTests.env(home))
        #expect(cat.status == 0 && cat.stdout == "after\n", "\(cat.stderr)")
    }

    /// Whether `condition` holds within 20 s (removals follow a snapshot's record by a moment).
    static func eventually(_ condition: () async throws -> Bool) async throws -> Bool {
        for _ in 0..<200 {
            if try await condition() { return true }
            try await Task.sleep(for: .milliseconds(100))
        }
        return false
    }

    /// Waits until the gateway's log holds `text`.
    static func waitForLog(_ gateway: GatewayProcess, _ text: String) async throws {
        for _ in 0..<600 {
            if ((try? String(contentsOf: gateway.log, encoding: .utf8)) ?? "").contains(text) { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        Issue.record("the gateway never logged \(text)")
    }

    /// `kill -9` between a snapshot's tree upload and its manifest upload: a gateway recovering from the space
    /// alone finds the previous snapshot, and the next start on the same data directory completes the new one.
    @Test(.enabled(if: !rclones.isEmpty, "needs rclone (.ci/run installs it)"))
    func aCrashDuringASnapshotLeavesThePreviousOne() async throws {
        let home = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: home) }
        let src = home.appendingPathComponent("src")
        try SnapshotTests.write(["a/v.txt": Data("one\n".utf8), "b.txt": Data("bee\n".utf8)], under: src)
        let first = try await GatewayProcess.start(home: home)
        let data = first.data
        var rc = try first.rclone(rclones[0])
        #expect(try await rc(["mkdir", "st:crash"]).status == 0)
        #expect(try await rc(["copy", src.path, "st:crash"]).status == 0)
        try await first.settled()
        #expect(try await first.terminate() == 0)

        // The next snapshot stops between its two uploads, and the gateway is killed there.
        let second = try await GatewayProcess.start(home: home, environment: ["STORACHA_SNAPSHOT_PAUSE_AFTER_TREE": "60"])
        rc = try second.rclone(rclones[0])
        try Data("two\n".utf8).write(to: src.appendingPathComponent("a/v.txt"))
        #expect(try await rc(["copy", src.path, "st:crash"]).status == 0)
        try await SnapshotTests.waitForLog(second, "snapshot 2 of bucket crash: tree")
        second.stop()

        // From the space alone: the previous snapshot, whole.
        func recovered(_ name: String) async throws -> String {
            let fresh = try await GatewayProcess.start(home: home, arguments: ["--data", home.appendingPathComponent(name).path])
            defer { fresh.stop() }
            let rc = try fresh.rclone(rclones[0])
            let log = (try? String(contentsOf: fresh.log, encoding: .utf8)) ?? ""
            #expect(log.contains("recovered bucket crash: 2 objects"), "\(log)")
            return try await rc(["cat", "st:crash/a/v.txt"]).stdout
        }
        #expect(try await recovered("recovery-1") == "one\n")

        // The same data directory again: the change mark survived, the snapshot is made.
        let third = try await GatewayProcess.start(home: home, arguments: ["--data", data.path])
        try await third.settled()
        let listed = try await SnapshotTests.snapshots("crash", third)
        #expect(listed.first?["seq"] as? Int == 2, "\(listed)")
        let thirdLog = (try? String(contentsOf: third.log, encoding: .utf8)) ?? ""
        #expect(thirdLog.contains("of an interrupted snapshot"), "the interrupted tree upload is removed: \(thirdLog)")
        #expect(try await third.terminate() == 0)
        #expect(try await recovered("recovery-2") == "two\n")
    }

    /// With `--keep-snapshots 2`, a deleted object stays on Storacha while a retained snapshot holds it, can be
    /// restored from that snapshot into a new bucket (no bytes copied), and is removed once no snapshot holds it.
    @Test(.enabled(if: !rclones.isEmpty, "needs rclone (.ci/run installs it)"))
    func retainedSnapshotsKeepTheirObjects() async throws {
        let home = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: home) }
        let gateway = try await GatewayProcess.start(home: home, arguments: ["--keep-snapshots", "2", "--cache-size", "0"])
        defer { gateway.stop() }
        let rc = try gateway.rclone(rclones[0])
        func ok(_ args: [String], sourceLocation: SourceLocation = #_sourceLocation) async throws -> String {
            let r = try await rc(args)
            #expect(r.status == 0, "rclone \(args): \(r.stderr)", sourceLocation: sourceLocation)
            return r.stdout
        }
        func uploads() async throws -> String {
            try await StorachaBinary.run(["ls", "--network", "local"], in: home, environment: SnapshotTests.env(home)).stdout
        }
        let src = home.appendingPathComponent("src")
        let x = Data("version one of x\n".utf8)
        let xRoot = CID(codec: CID.Codec.raw, multihash: .sha256(x)).description
        try SnapshotTests.write(["x.txt": x, "y.txt": Data("why\n".utf8)], under: src)
        _ = try await ok(["mkdir", "st:keep"])
        _ = try await ok(["copy", src.path, "st:keep"])
        try await gateway.settled()
        let s1 = try await SnapshotTests.snapshots("keep", gateway).first?["root"] as? String ?? ""
        _ = try await ok(["deletefile", "st:keep/x.txt"])
        try await gateway.settled()
        #expect(try await SnapshotTests.eventually { try await SnapshotTests.snapshots("keep", gateway).count == 2 })
        #expect(try await uploads().contains(xRoot), "a retained snapshot holds x: its upload stays")

        let restore = try await StorachaBinary.run(["s3", "restore", "keep", "--snapshot", s1, "--to", "keep-back", "--local",
                                                    "--data", gateway.data.path], in: home, environment: SnapshotTests.env(home))
        #expect(restore.status == 0 && restore.stdout.contains("2 objects"), "\(restore.stdout)\(restore.stderr)")
        #expect(try await ok(["cat", "st:keep-back/x.txt"]) == String(decoding: x, as: UTF8.self))
        _ = try await ok(["purge", "st:keep-back"])
        try SnapshotTests.write(["z.txt": Data("zed\n".utf8)], under: src)
        _ = try await ok(["copy", src.path, "st:keep", "--exclude", "x.txt"])
        try await gateway.settled()
        #expect(try await SnapshotTests.eventually { !(try await uploads()).contains(xRoot) },
                "no key and no retained snapshot holds x: its upload is removed")
        #expect(try await SnapshotTests.snapshots("keep", gateway).count == 2)
    }
}
