import ArgumentParser
import Crypto
import Foundation
import SystemIO
import UnixFS

/// `storacha bench`: performance measurements against this machine's limits.
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure performance on this machine (see docs/PERFORMANCE.md).",
        subcommands: [PackBench.self, PieceBench.self, UpBench.self, S3Bench.self, UCANBench.self, ServiceBench.self],
        defaultSubcommand: PackBench.self
    )
}

/// `storacha bench pack`: pack throughput against the SHA-256 limit of this machine.
struct PackBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pack",
        abstract: "Measure `car pack` throughput beside single-core SHA-256 throughput on this machine.",
        discussion: "Packing hashes every byte twice (raw leaf, then CAR shard), so one core's bound is 50% of SHA-256 speed; the packer hashes leaves and shards on two threads to go past it. Build with `swift build -c release` for meaningful numbers."
    )

    @Option(help: "Input size in bytes (default 1 GiB).")
    var size: Int = 1 << 30

    @Option(help: "Directory for the generated input and the shards (default: a temporary directory).")
    var dir: String?

    @Option(help: "Repetitions; the best run is reported.")
    var runs: Int = 3

    @Flag(help: "Print the results as one JSON object.")
    var json = false

    func run() async throws {
        try await userFacing {
            let base = URL(fileURLWithPath: dir ?? FileManager.default.temporaryDirectory.path)
                .appendingPathComponent("storacha-bench-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: base, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: base) }
            let input = base.appendingPathComponent("input.bin")
            try BenchCommand.writeInput(input, size: size)

            let sha = measureSHA256(bytes: max(size, 256 << 20))
            var bestPack = Double.infinity
            var root = ""
            var shardCount = 0
            for i in 0..<max(1, runs) {
                let out = base.appendingPathComponent("out-\(i)")
                try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
                let files = [ImportFile(name: "input.bin", size: UInt64(size), content: .file(input))]
                let start = DispatchTime.now()
                let result = try await BlockingIO.runOnOwnThread { try Packer.pack(files, options: PackOptions(wrap: false), into: out) }
                let seconds = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
                bestPack = min(bestPack, seconds)
                root = result.root.description
                shardCount = result.shards.count
                try? FileManager.default.removeItem(at: out)
            }
            let peak = Platform.peakResidentMemoryBytes().map { Double($0) / 1_048_576 }
            let mb = Double(size) / 1e6
            let packRate = mb / bestPack
            let shaRate = sha
            let ratio = packRate / shaRate * 100
            if json {
                print(#"{"bytes":\#(size),"sha256MBps":\#(Int(shaRate)),"packMBps":\#(Int(packRate)),"packPercentOfSHA256":\#(Int(ratio)),"shards":\#(shardCount),"root":"\#(root)","peakRSSMiB":\#(Int(peak ?? 0))}"#)
            } else {
                print("input            \(size) bytes (lcg), \(shardCount) shard(s), root \(root)")
                print("sha256 (1 core)  \(String(format: "%.0f", shaRate)) MB/s")
                print("car pack         \(String(format: "%.0f", packRate)) MB/s  (best of \(max(1, runs)), \(String(format: "%.2f", bestPack)) s)")
                print("pack / sha256    \(String(format: "%.0f", ratio))%  (one-core bound: 50%)")
                if let peak { print("peak RSS         \(String(format: "%.1f", peak)) MiB (whole bench process)") }
            }
        }
    }

    /// Single-core SHA-256 throughput in MB/s over 1 MiB buffers.
    func measureSHA256(bytes: Int) -> Double { BenchCommand.sha256Throughput(bytes: bytes) }
}

extension BenchCommand {
    /// Writes `size` bytes of the `lcg` generator.
    static func writeInput(_ url: URL, size: Int) throws {
        FileManager.default.createFile(atPath: url.path, contents: nil)
        let handle = try FileHandle(forWritingTo: url)
        defer { try? handle.close() }
        var state: UInt32 = 0
        var remaining = size
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        while remaining > 0 {
            let n = min(chunk.count, remaining)
            for i in 0..<n {
                state = state &* 1_664_525 &+ 1_013_904_223
                chunk[i] = UInt8(truncatingIfNeeded: state >> 24)
            }
            try handle.write(contentsOf: Data(chunk[0..<n]))
            remaining -= n
        }
    }

    /// Single-core SHA-256 throughput in MB/s over 1 MiB messages, best of three.
    static func sha256Throughput(bytes: Int) -> Double { hashThroughput(SHA256.self, bytes: bytes) }

    /// Single-core throughput of `hash` in MB/s over 1 MiB messages, best of three.
    static func hashThroughput<Hash: HashFunction>(_ hash: Hash.Type, bytes: Int) -> Double {
        let buffer = Data((0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) })
        var best = Double.infinity
        for _ in 0..<3 {
            let start = DispatchTime.now()
            var hashed = 0
            var sink: UInt8 = 0
            while hashed < bytes {
                sink ^= Hash.hash(data: buffer).withUnsafeBytes { $0[0] }
                hashed += buffer.count
            }
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
            if sink == 0xff { best -= 0 }  // keep the loop observable
            best = min(best, seconds)
        }
        return Double(bytes) / 1e6 / best
    }

    /// How fast `bytes` bytes get onto the disk under `directory` durably, in MB/s, written as the S3 gateway writes
    /// a body: to a new file in 1 MiB pieces past the page cache (``UncachedFileWriter``), then fsynced (the file is
    /// removed after).
    static func durableWriteThroughput(in directory: URL, bytes: Int) throws -> Double {
        let url = directory.appendingPathComponent("durable-write-\(UniqueName.make())")
        defer { try? FileManager.default.removeItem(at: url) }
        let chunk = Data((0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 131 &+ 17) })
        Platform.flushFileSystems()
        let start = DispatchTime.now()
        let writer = try UncachedFileWriter(creating: url)
        var written = 0
        while written < bytes {
            try chunk.withUnsafeBytes { try writer.write($0) }
            written += chunk.count
        }
        try writer.finish()
        return Double(written) / 1e6 / (Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9)
    }
}
