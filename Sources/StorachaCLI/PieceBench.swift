import ArgumentParser
import Foundation
import Piece

/// `storacha bench piece`: piece-CID (CommP) throughput beside single-core SHA-256.
struct PieceBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "piece",
        abstract: "Measure piece-CID (CommP) throughput beside single-core SHA-256 on this machine.",
        discussion: "CommP hashes every payload byte about twice in 64-byte messages (each a separate SHA-256 with its own "
            + "padding block), so about 25% of streaming SHA-256 speed is its single-core bound. Build with "
            + "`swift build -c release` for meaningful numbers.")

    @Option(help: "Payload size in bytes (default 256 MiB).")
    var size: Int = 256 << 20

    @Option(help: "Repetitions; the best run is reported.")
    var runs: Int = 3

    @Flag(help: "Print the results as one JSON object.")
    var json = false

    func validate() throws {
        guard size > 0, runs > 0 else { throw ValidationError("--size and --runs must be positive") }
    }

    func run() async throws {
        let sha = BenchCommand.sha256Throughput(bytes: max(size, 256 << 20))
        let buffer = [UInt8]((0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 131 &+ 17) })
        var best = Double.infinity
        var cid = ""
        for _ in 0..<runs {
            let start = DispatchTime.now()
            var hasher = PieceHasher()
            var fed = 0
            while fed < size {
                let n = min(buffer.count, size - fed)
                buffer.withUnsafeBytes { hasher.update(buffer: UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
                fed += n
            }
            cid = hasher.finalize().cid.description
            best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9)
        }
        let rate = Double(size) / 1e6 / best
        // The same payload from a file, as `up` hashes shards: subtrees on every core.
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("storacha-piece-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: file) }
        FileManager.default.createFile(atPath: file.path, contents: nil)
        let out = try FileHandle(forWritingTo: file)
        var written = 0
        while written < size {
            let n = min(buffer.count, size - written)
            try out.write(contentsOf: buffer[0..<n])
            written += n
        }
        try out.close()
        var bestParallel = Double.infinity
        for _ in 0..<runs {
            let start = DispatchTime.now()
            let piece = try Piece.computed(fromFileAt: file)
            guard piece.cid.description == cid else { throw CLIError("the parallel piece differs from the streamed one") }
            bestParallel = min(bestParallel, Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9)
        }
        let parallelRate = Double(size) / 1e6 / bestParallel
        if json {
            print(#"{"size":\#(size),"pieceMBps":\#(Int(rate)),"pieceParallelMBps":\#(Int(parallelRate)),"#
                  + #""sha256MBps":\#(Int(sha)),"piece":"\#(cid)"}"#)
        } else {
            print("piece CID     \(size) bytes: \(String(format: "%.0f", rate)) MB/s (\(cid))")
            print("piece CID     from a file, \(ProcessInfo.processInfo.activeProcessorCount) cores: \(String(format: "%.0f", parallelRate)) MB/s "
                  + "(\(String(format: "%.1f", parallelRate / sha * 100))% of one core's SHA-256)")
            print("SHA-256       one core: \(String(format: "%.0f", sha)) MB/s; piece = \(String(format: "%.1f", rate / sha * 100))% of it")
        }
    }
}
