import ArgumentParser
import Foundation
import IPLD
import Piece
import SystemIO
import UnixFS

/// `storacha bench up`: the whole upload of a file to a local service, beside what it is made of.
struct UpBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "up",
        abstract: "Measure `up` of a file to a local service beside `car pack`, piece CIDs and SHA-256 on this machine.",
        discussion: """
            Runs `storacha serve local` (fresh data directory) and `storacha up --network local` as child processes, as a \
            user would, and reports the upload's throughput and peak RSS beside packing alone, packing with piece CIDs \
            (what `up` computes before anything reaches the network), the piece CIDs alone and single-core SHA-256, all \
            in the same run; the best of --runs is reported (each upload to a fresh service). The service runs on the same \
            cores and does its own hashing and fsyncs; its check of every offered piece (a second piece computation, which \
            production does later, off the upload path) is off unless --verify-pieces is given. Build with \
            `swift build -c release` for meaningful numbers.
            """
    )

    @Option(help: "Input size in bytes (default 1 GiB).")
    var size: Int = 1 << 30

    @Option(help: "Directory for the input, the service's data and the shards (default: a temporary directory).")
    var dir: String?

    @Option(help: "Shards stored at once by `up`.")
    var concurrency: Int = 4

    @Option(help: "Repetitions; the best run of each measurement is reported.")
    var runs: Int = 3

    @Flag(help: "Let the service check every offered piece against the stored bytes.")
    var verifyPieces = false

    @Flag(help: "Print the results as one JSON object.")
    var json = false

    func validate() throws {
        guard size > 0, concurrency > 0, runs > 0 else { throw ValidationError("--size, --concurrency and --runs must be positive") }
    }

    func run() async throws {
        try await userFacing {
            let base = URL(fileURLWithPath: dir ?? FileManager.default.temporaryDirectory.path)
                .appendingPathComponent("storacha-bench-up-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: base, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: base) }
            let input = base.appendingPathComponent("input.bin")
            try BenchCommand.writeInput(input, size: size)
            let sha = BenchCommand.sha256Throughput(bytes: max(size, 256 << 20))
            let files = [ImportFile(name: "input.bin", size: UInt64(size), content: .file(input))]
            var root = ""
            var (pieceSeconds, packSeconds, packPieceSeconds, upSeconds) = (Double.infinity, Double.infinity, Double.infinity, Double.infinity)
            for run in 0..<runs {
                pieceSeconds = min(pieceSeconds, try await UpBench.timed {
                    _ = try await BlockingIO.runOnOwnThread { try Piece.computed(fromFileAt: input) }
                })
                for pieces in [false, true] {
                    let out = base.appendingPathComponent("pack-\(run)-\(pieces)")
                    try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
                    let seconds = try await UpBench.timed {
                        root = try await BlockingIO.runOnOwnThread {
                            try Packer.pack(files, options: PackOptions(wrap: false), pieces: pieces, into: out).root.description
                        }
                    }
                    if pieces { packPieceSeconds = min(packPieceSeconds, seconds) } else { packSeconds = min(packSeconds, seconds) }
                    try? FileManager.default.removeItem(at: out)
                }
                upSeconds = min(upSeconds, try await upload(input, root: root, in: base.appendingPathComponent("run-\(run)")))
            }
            // The largest child: `up` (logins and space creation are small; services are not reaped until the end).
            let peak = Platform.peakResidentMemoryOfChildrenBytes().map { Double($0) / 1_048_576 } ?? 0

            let mb = Double(size) / 1e6
            let (upRate, packRate, packPieceRate, pieceRate) = (mb / upSeconds, mb / packSeconds, mb / packPieceSeconds, mb / pieceSeconds)
            let upShare = upRate / packPieceRate * 100
            if json {
                print(#"{"bytes":\#(size),"upMBps":\#(Int(upRate)),"packMBps":\#(Int(packRate)),"packWithPiecesMBps":\#(Int(packPieceRate)),"#
                      + #""pieceMBps":\#(Int(pieceRate)),"sha256MBps":\#(Int(sha)),"upPercentOfPackWithPieces":\#(Int(upShare)),"#
                      + #""upPeakRSSMiB":\#(Int(peak)),"serviceVerifiesPieces":\#(verifyPieces),"root":"\#(root)"}"#)
            } else {
                func line(_ name: String, _ rate: Double, _ seconds: Double) -> String {
                    name.padding(toLength: 26, withPad: " ", startingAt: 0) + String(format: "%5.0f MB/s  (%.2f s)", rate, seconds)
                }
                print("input                     \(size) bytes (lcg), root \(root)")
                print(line("up (local service)", upRate, upSeconds) + String(format: ", peak RSS %.0f MiB", peak)
                      + (verifyPieces ? ", service checks pieces" : ""))
                print(line("car pack", packRate, packSeconds))
                print(line("car pack + piece CIDs", packPieceRate, packPieceSeconds))
                print(line("piece CIDs (all cores)", pieceRate, pieceSeconds)
                      + String(format: ", %.0f%% of one core's SHA-256", pieceRate / sha * 100))
                print(String(format: "sha256 (1 core)           %5.0f MB/s", sha))
                print(String(format: "up / (pack + pieces)      %5.0f%%", upShare))
            }
        }
    }

    /// Seconds taken by `storacha up` of `input` to a fresh service under `directory` (a new user too).
    func upload(_ input: URL, root: String, in directory: URL) async throws -> Double {
        let data = directory.appendingPathComponent("service")
        let service = try await ChildCommand.startService(data: data, arguments: verifyPieces ? [] : ["--no-verify-pieces"])
        defer {
            service.terminate()
            service.waitUntilExit()
            try? FileManager.default.removeItem(at: directory)
        }
        let env = ChildCommand.isolatedEnvironment(home: directory.appendingPathComponent("home"), localData: data)
        _ = try await ChildCommand.run(["login", "bench@example.com"], environment: env)
        _ = try await ChildCommand.run(["space", "create", "bench", "--no-caution", "--no-recovery"], environment: env)
        var output = ""
        let seconds = try await UpBench.timed {
            output = try await ChildCommand.run(["up", "--no-wrap", input.path, "--json", "--concurrency", "\(concurrency)"], environment: env)
        }
        let uploaded = (try? DAGJSON.decode(Data(output.utf8)))?["root"]?.linkValue?.description
        guard uploaded == root else { throw CLIError("up gave the root \(uploaded ?? output), car pack gave \(root)") }
        return seconds
    }

    /// Seconds taken by `work`.
    static func timed(_ work: () async throws -> Void) async throws -> Double {
        let start = DispatchTime.now()
        try await work()
        return Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
    }
}

/// This same binary run as a child process, as a user would run it.
enum ChildCommand {
    static var executable: URL { Bundle.main.executableURL ?? URL(fileURLWithPath: CommandLine.arguments[0]) }

    /// A child `serve local` on a free port, once it has printed its URL.
    static func startService(data: URL, arguments: [String] = []) async throws -> Process {
        try await start(["serve", "local", "--data", data.path, "--port", "0", "--json", "--auto-confirm"] + arguments).process
    }

    /// Starts this binary with `arguments` and waits for the first line it prints (a server's address).
    static func start(_ arguments: [String], environment: [String: String]? = nil) async throws -> (process: Process, line: Data) {
        try await BlockingIO.runOnOwnThread {
            let process = Process()
            process.executableURL = executable
            process.arguments = arguments
            if let environment { process.environment = environment }
            let out = Pipe()
            process.standardOutput = out
            process.standardError = FileHandle.nullDevice
            try process.run()
            var line = Data()
            while !line.contains(UInt8(ascii: "\n")) {
                let chunk = out.fileHandleForReading.availableData
                if chunk.isEmpty { throw CLIError("storacha \(arguments.prefix(2).joined(separator: " ")) exited before printing its address") }
                line.append(chunk)
            }
            return (process, line.prefix { $0 != UInt8(ascii: "\n") })
        }
    }

    /// The environment of a fresh user of the local network whose data is `localData`.
    static func isolatedEnvironment(home: URL, localData: URL) -> [String: String] {
        var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("STORACHA_") && !$0.key.hasPrefix("XDG_") }
        env["HOME"] = home.path
        env["STORACHA_NETWORK"] = "local"
        env["STORACHA_LOCAL_DATA"] = localData.path
        return env
    }

    /// Runs the binary with `arguments` and returns its standard output; a failure throws its last error line.
    static func run(_ arguments: [String], environment: [String: String], executable program: String? = nil) async throws -> String {
        try await BlockingIO.runOnOwnThread {
            let process = Process()
            if let program {
                process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
                process.arguments = [program] + arguments
            } else {
                process.executableURL = executable
                process.arguments = arguments
            }
            process.environment = environment
            let out = Pipe()
            let err = Pipe()
            process.standardOutput = out
            process.standardError = err
            try process.run()
            let stdout = out.fileHandleForReading.readDataToEndOfFile()
            let stderr = err.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            guard process.terminationStatus == 0 else {
                let last = String(decoding: stderr, as: UTF8.self).split(separator: "\n").last.map(String.init) ?? ""
                throw CLIError("\(program ?? "storacha") \(arguments.first ?? "") failed: \(last)")
            }
            return String(decoding: stdout, as: UTF8.self)
        }
    }
}
