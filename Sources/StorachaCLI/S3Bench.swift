import ArgumentParser
import Foundation
import S3Gateway
import SystemIO

/// `storacha bench s3`: rclone through the S3 gateway beside the same rclone copy to a local directory.
struct S3Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "s3",
        abstract: "Measure `rclone copy` through `storacha serve s3 --local` beside the same copy to a local directory.",
        discussion: """
            Copies --files small files and one --size file with rclone (default transfers) to the gateway (a child \
            `serve s3 --local` on a fresh profile) and to a local directory, in the same run, and reports files/s, MB/s, \
            the ratios, how long after each copy its objects were all on Storacha (the gateway acknowledges a PUT once \
            the object is on its disk and uploads it after), and the gateway's peak RSS. The local figures are the best \
            of three copies. Needs rclone. Build with `swift build -c release` for meaningful numbers.
            """)

    @Option(help: "Small files.")
    var files: Int = 1000

    @Option(help: "Size of each small file in bytes.")
    var fileSize: Int = 16 << 10

    @Option(help: "Size of the large file in bytes (default 1 GiB).")
    var size: Int = 1 << 30

    @Option(help: "The rclone binary.")
    var rclone: String = "rclone"

    @Option(help: "Directory for the inputs and copies (default: a temporary directory).")
    var dir: String?

    @Flag(help: "Print the results as one JSON object.")
    var json = false

    func run() async throws {
        try await userFacing {
            let base = URL(fileURLWithPath: dir ?? FileManager.default.temporaryDirectory.path)
                .appendingPathComponent("storacha-bench-s3-\(UUID().uuidString)")
            let small = base.appendingPathComponent("small")
            try FileManager.default.createDirectory(at: small, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: base) }
            var state: UInt32 = 7
            for i in 0..<files {
                var bytes = [UInt8](repeating: 0, count: fileSize)
                for j in 0..<fileSize { state = state &* 1_664_525 &+ 1_013_904_223; bytes[j] = UInt8(truncatingIfNeeded: state >> 24) }
                try Data(bytes).write(to: small.appendingPathComponent("f\(i).bin"))
            }
            let large = base.appendingPathComponent("large.bin")
            try BenchCommand.writeInput(large, size: size)

            let home = base.appendingPathComponent("home")
            let gateway = try await ChildCommand.startGateway(home: home)
            defer { gateway.process.terminate(); gateway.process.waitUntilExit() }
            let config = base.appendingPathComponent("rclone.conf")
            try Data("""
                [st]
                type = s3
                provider = Other
                access_key_id = \(gateway.accessKey)
                secret_access_key = \(gateway.secretKey)
                endpoint = \(gateway.url)

                """.utf8).write(to: config)
            var env = ProcessInfo.processInfo.environment
            env["AWS_CA_BUNDLE"] = nil
            func copy(_ from: URL, _ to: String) async throws -> Double {
                try await UpBench.timed {
                    _ = try await ChildCommand.run(["--config", config.path, "copy", from.path, to], environment: env, executable: rclone)
                }
            }
            // The best of three copies to a fresh local directory each: the stricter baseline.
            func copyLocally(_ from: URL, _ name: String) async throws -> Double {
                var best = Double.infinity
                for run in 0..<3 {
                    let target = base.appendingPathComponent("\(name)-\(run)")
                    best = min(best, try await copy(from, target.path))
                }
                return best
            }
            // Seconds until every acknowledged object is on Storacha (the gateway uploads them after its 200s),
            // so that one measurement's uploads do not run during the next.
            func drain() async throws -> Double {
                try await UpBench.timed {
                    while try StorachaBuckets.pendingUploads(directory: URL(fileURLWithPath: gateway.data)) > 0 {
                        try await Task.sleep(for: .milliseconds(50))
                    }
                }
            }
            _ = try await ChildCommand.run(["--config", config.path, "mkdir", "st:small"], environment: env, executable: rclone)
            _ = try await ChildCommand.run(["--config", config.path, "mkdir", "st:large"], environment: env, executable: rclone)
            let smallLocal = try await copyLocally(small, "local-small")
            let smallGateway = try await copy(small, "st:small")
            let smallDrain = try await drain()
            let largeLocal = try await copyLocally(large, "local-large")
            let largeGateway = try await copy(large, "st:large")
            let largeDrain = try await drain()
            let peak = Platform.peakResidentMemory(ofProcess: gateway.process.processIdentifier).map { Double($0) / 1_048_576 } ?? 0
            let (fsLocal, fsGateway) = (Double(files) / smallLocal, Double(files) / smallGateway)
            let (mbLocal, mbGateway) = (Double(size) / 1e6 / largeLocal, Double(size) / 1e6 / largeGateway)
            if json {
                print(#"{"files":\#(files),"fileSize":\#(fileSize),"bytes":\#(size),"filesPerSecondLocal":\#(Int(fsLocal)),"#
                      + #""filesPerSecondGateway":\#(String(format: "%.1f", fsGateway)),"MBpsLocal":\#(Int(mbLocal)),"#
                      + #""MBpsGateway":\#(Int(mbGateway)),"gatewayPeakRSSMiB":\#(Int(peak)),"#
                      + #""smallOnStorachaSeconds":\#(String(format: "%.1f", smallDrain)),"#
                      + #""largeOnStorachaSeconds":\#(String(format: "%.1f", largeDrain))}"#)
            } else {
                print("small files   \(files) × \(fileSize) bytes: local \(String(format: "%.0f", fsLocal)) files/s, gateway "
                      + "\(String(format: "%.1f", fsGateway)) files/s (\(String(format: "%.1f", fsGateway / fsLocal * 100))%)")
                print("large file    \(size) bytes: local \(String(format: "%.0f", mbLocal)) MB/s, gateway \(String(format: "%.0f", mbGateway)) MB/s "
                      + "(\(String(format: "%.0f", mbGateway / mbLocal * 100))%)")
                print("on Storacha   small files \(String(format: "%.1f", smallDrain)) s after rclone finished, large file "
                      + "\(String(format: "%.1f", largeDrain)) s after")
                print("gateway       peak RSS \(String(format: "%.0f", peak)) MiB")
            }
        }
    }
}

extension ChildCommand {
    /// A child `serve s3 --local` on a free port for a fresh user at `home`.
    static func startGateway(home: URL) async throws -> (process: Process, url: String, accessKey: String, secretKey: String, data: String) {
        var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("STORACHA_") && !$0.key.hasPrefix("XDG_") }
        env["HOME"] = home.path
        let (process, line) = try await start(["serve", "s3", "--local", "--listen", "127.0.0.1:0", "--json"], environment: env)
        let value = try JSONSerialization.jsonObject(with: line) as? [String: String] ?? [:]
        return (process, value["url"] ?? "", value["accessKey"] ?? "", value["secretKey"] ?? "", value["data"] ?? "")
    }
}
