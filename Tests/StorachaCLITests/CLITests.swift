import Foundation
import Testing
import TestSupport

typealias CLI = StorachaBinary

@Suite struct CLITests {
    /// The upload-client unit-test vector: `file.txt` = "file", `dir/another.txt` = "another".
    func uploadClientFixture(in dir: URL) throws -> URL {
        let root = dir.appendingPathComponent("fixture")
        try FileManager.default.createDirectory(at: root.appendingPathComponent("dir"), withIntermediateDirectories: true)
        try Data("file".utf8).write(to: root.appendingPathComponent("file.txt"))
        try Data("another".utf8).write(to: root.appendingPathComponent("dir/another.txt"))
        return root
    }

    /// `serve s3 --cache-size` takes sizes as people write them and refuses anything else in one line, before
    /// starting anything.
    @Test func cacheSizesThatAreNotSizesAreRefused() async throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        for bad in ["12XB", "-1", "1.5.2G", "GiB", "ten"] {
            let r = try await CLI.run(["serve", "s3", "--local", "--cache-size=\(bad)"], in: dir, environment: ["HOME": dir.path])
            #expect(r.status != 0 && r.stderr.contains("--cache-size must be a size such as"), "\(bad): \(r.stderr)")
        }
    }

    @Test func cidMatchesTheJSClient() async throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        _ = try uploadClientFixture(in: dir)
        let r = try await CLI.run(["cid", "fixture"], in: dir)
        #expect(r.status == 0)
        #expect(r.stdout == "bafybeie4fxkioskwb4h7xpb5f6tbktm4vjxt7rtsqjit72jrv3ii5h26sy\n")
        // --no-wrap of one file gives the raw leaf; wrapping gives a one-entry directory.
        let single = try await CLI.run(["cid", "--no-wrap", "fixture/file.txt"], in: dir)
        #expect(single.stdout == "bafkreib3tq2y6nxqumnwvu7bj4yjy7hrtcwjerxigfxzzzkd2wyzvqblqa\n")
        let wrapped = try await CLI.run(["cid", "fixture/file.txt"], in: dir)
        #expect(wrapped.stdout.hasPrefix("bafybei"))
    }

    @Test func packJSONAndUnpackRoundTrip() async throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        _ = try uploadClientFixture(in: dir)
        let r = try await CLI.run(["car", "pack", "fixture", "--json", "--output-dir", "cars", "--index", "index.car"], in: dir)
        #expect(r.status == 0)
        #expect(r.stdout == """
            {"shard":{"/":"bagbaierag7aobd4okhd4alnuwhu7uckcu4hu243yzvpqyjhu3nb22zv6ymca"},"size":381}
            {"root":{"/":"bafybeie4fxkioskwb4h7xpb5f6tbktm4vjxt7rtsqjit72jrv3ii5h26sy"}}

            """)
        let car = "cars/bagbaierag7aobd4okhd4alnuwhu7uckcu4hu243yzvpqyjhu3nb22zv6ymca.car"
        #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent(car).path))
        #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent("index.car").path))
        let roots = try await CLI.run(["car", "roots", car], in: dir)
        #expect(roots.stdout == "bafybeie4fxkioskwb4h7xpb5f6tbktm4vjxt7rtsqjit72jrv3ii5h26sy\n")
        let blocks = try await CLI.run(["car", "blocks", car], in: dir)
        #expect(blocks.stdout.split(separator: "\n").count == 4)
        let ls = try await CLI.run(["car", "ls", car], in: dir)
        #expect(ls.stdout.contains("bafkreifoisfmq3corzg6yzcxffyi55ayooxhtrw77bhp64zwbgeuq7yi4u\tdir/another.txt"))
        let lsJSON = try await CLI.run(["car", "ls", "--json", car], in: dir)
        #expect(lsJSON.stdout.contains(#"{"cid":{"/":"bafkreib3tq2y6nxqumnwvu7bj4yjy7hrtcwjerxigfxzzzkd2wyzvqblqa"},"path":"file.txt","size":4,"type":"file"}"#))
        let unpack = try await CLI.run(["car", "unpack", car, "--output", "restored"], in: dir)
        #expect(unpack.status == 0)
        #expect(try Data(contentsOf: dir.appendingPathComponent("restored/file.txt")) == Data("file".utf8))
        #expect(try Data(contentsOf: dir.appendingPathComponent("restored/dir/another.txt")) == Data("another".utf8))
        let sub = try await CLI.run(["car", "unpack", car, "--path", "dir/another.txt", "--output", "another.txt"], in: dir)
        #expect(sub.status == 0)
        #expect(try Data(contentsOf: dir.appendingPathComponent("another.txt")) == Data("another".utf8))
    }

    @Test func multiShardPackToOneFileFailsCleanly() async throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        try lcg(3_000_000).write(to: dir.appendingPathComponent("big.bin"))
        let r = try await CLI.run(["car", "pack", "big.bin", "--shard-size", "1100000", "--output", "out.car"], in: dir)
        #expect(r.status != 0)
        #expect(r.stderr.contains("--output-dir"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["big.bin"])
        // The same into a directory gives several shards that unpack to the original bytes.
        let ok = try await CLI.run(["car", "pack", "big.bin", "--shard-size", "1100000", "--output-dir", "shards", "--no-wrap", "--json"], in: dir)
        #expect(ok.status == 0)
        let shards = try FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent("shards").path).sorted()
        #expect(shards.count == 3)
        let unpack = try await CLI.run(["car", "unpack", "--output", "copy.bin"] + shards.map { "shards/" + $0 }, in: dir)
        #expect(unpack.status == 0, "\(unpack.stderr)")
        #expect(try Data(contentsOf: dir.appendingPathComponent("copy.bin")) == lcg(3_000_000))
    }

    @Test func badInputGivesOneLineErrors() async throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        try Data("not a car file at all".utf8).write(to: dir.appendingPathComponent("bad.car"))
        for args in [["car", "ls", "bad.car"], ["car", "unpack", "bad.car"], ["car", "blocks", "missing.car"], ["car", "pack", "missing"], ["cid", "missing"],
                     ["car", "pack", "bad.car", "--shard-size", "10"]] {
            let r = try await CLI.run(args, in: dir)
            #expect(r.status != 0, "\(args)")
            #expect(r.stderr.split(separator: "\n").count >= 1 && r.stderr.contains("rror"), "\(args): \(r.stderr)")
            #expect(!r.stderr.contains("Fatal error"))
        }
        // A CAR whose block does not match its CID is refused by unpack, and nothing is written.
        _ = try uploadClientFixture(in: dir)
        _ = try await CLI.run(["car", "pack", "fixture", "--output", "good.car"], in: dir)
        var bytes = try Data(contentsOf: dir.appendingPathComponent("good.car"))
        bytes[bytes.count - 1] ^= 0x01
        try bytes.write(to: dir.appendingPathComponent("tampered.car"))
        let r = try await CLI.run(["car", "unpack", "tampered.car", "--output", "out"], in: dir)
        #expect(r.status != 0)
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("out").path))
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasPrefix(".") }.isEmpty)
    }

    /// `car pack` of a 1 GiB file stays under 64 MiB peak RSS and unpacks to identical bytes.
    /// Opt-in (STORACHA_SLOW_TESTS=1): it writes 3 GiB to the temporary directory.
    @Test(.enabled(if: ProcessInfo.processInfo.environment["STORACHA_SLOW_TESTS"] == "1" && FileManager.default.fileExists(atPath: "/usr/bin/time")))
    func oneGiBPackStaysUnder64MiB() async throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = dir.appendingPathComponent("big.bin")
        FileManager.default.createFile(atPath: input.path, contents: nil)
        let handle = try FileHandle(forWritingTo: input)
        let chunk = lcg(1 << 20)
        for i in 0..<1024 { var c = chunk; c[0] = UInt8(truncatingIfNeeded: i); c[1] = UInt8(truncatingIfNeeded: i >> 8); try handle.write(contentsOf: c) }
        try handle.close()
        let pack = try await CLI.run(["car", "pack", "big.bin", "--output-dir", "cars"], in: dir, wrapper: ["/usr/bin/time", "-v"])
        #expect(pack.status == 0)
        let rss = pack.stderr.split(separator: "\n").first { $0.contains("Maximum resident set size") }
            .flatMap { Int($0.split(separator: ":").last?.trimmingCharacters(in: .whitespaces) ?? "") } ?? Int.max
        #expect(rss < 64 * 1024, "peak RSS \(rss) KiB")
        let cars = try FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent("cars").path).map { "cars/" + $0 }
        #expect(cars.count == 9)
        let unpack = try await CLI.run(["car", "unpack", "--output", "restored"] + cars, in: dir)
        #expect(unpack.status == 0)
        let a = try FileHandle(forReadingFrom: input)
        let b = try FileHandle(forReadingFrom: dir.appendingPathComponent("restored/big.bin"))
        while true {
            let x = try a.read(upToCount: 8 << 20) ?? Data()
            let y = try b.read(upToCount: 8 << 20) ?? Data()
            #expect(x == y)
            if x.isEmpty || x != y { break }
        }
    }
}
