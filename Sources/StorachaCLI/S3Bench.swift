import ArgumentParser
import Crypto
import Foundation
import S3Gateway
import SystemIO

/// `storacha bench s3`: rclone through the S3 gateway beside the same rclone copy to a local directory.
struct S3Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "s3",
        abstract: "Measure `rclone copy` through `storacha serve s3 --local` beside the same copy to a local directory.",
        discussion: """
            Copies --files small files and one --size file with rclone (its default transfers, or --transfers) to \
            the gateway (a child \
            `serve s3 --local` on a fresh profile) and to a local directory, in the same run, and reports files/s, MB/s, \
            the ratios, the large copy's physical bound on this machine (rclone and the gateway both hash each part with \
            MD5 and SHA-256, and the gateway must write it durably: hash and write-and-fsync rates measured), the CPU \
            seconds rclone and the gateway used during their best copies, the spread of the runs, how long after each \
            copy its objects were \
            all on Storacha (the gateway acknowledges a PUT once the object is on its disk and uploads it after; this \
            includes the MD5 it computes after a multipart upload), and \
            the gateway's peak RSS. Every target is measured the \
            same way: --runs copies, each into a fresh destination after the file systems were flushed (`sync`, \
            untimed) and, for the gateway, after the previous copy's objects were all on Storacha; the best is kept. \
            When this rclone has `serve s3` (1.65 and later), the same copies also go to it, serving a local directory: \
            another S3 server on the same machine, for reference. The small files' local copies stay until the end: \
            some file systems (ext4 without a journal) create files several times slower for a minute after thousands \
            were removed, so leave a minute after removing many files (or another bench) before running it. Needs \
            rclone. Build with `swift build -c release` for meaningful numbers.
            """)

    @Option(help: "Small files.")
    var files: Int = 1000

    @Option(help: "Size of each small file in bytes.")
    var fileSize: Int = 16 << 10

    @Option(help: "Size of the large file in bytes (default 1 GiB).")
    var size: Int = 1 << 30

    @Option(help: "Copies per target; the best is kept.")
    var runs: Int = 3

    @Option(help: "The rclone binary.")
    var rclone: String = "rclone"

    @Option(help: "rclone's --transfers for every copy (default: rclone's own, 4).")
    var transfers: Int?

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
            var env = ProcessInfo.processInfo.environment
            env["AWS_CA_BUNDLE"] = nil
            // rclone's own S3 server over a local directory, when this rclone has one: the same protocol without Storacha.
            let reference = try await RcloneS3Server.start(rclone: rclone, directory: base.appendingPathComponent("rclone-s3"),
                                                           environment: env)
            defer { reference?.process.terminate() }
            let config = base.appendingPathComponent("rclone.conf")
            try Data((RcloneRemote.section("st", url: gateway.url, accessKey: gateway.accessKey, secretKey: gateway.secretKey)
                      + (reference.map { RcloneRemote.section("ref", url: $0.url, accessKey: $0.accessKey, secretKey: $0.secretKey) } ?? ""))
                .utf8).write(to: config)
            func copy(_ from: URL, _ to: String) async throws -> Double {
                Platform.flushFileSystems()  // so that no copy pays for the previous one's dirty pages
                return try await UpBench.timed {
                    _ = try await ChildCommand.run(["--config", config.path, "copy", from.path, to]
                                                   + (transfers.map { ["--transfers", "\($0)"] } ?? []),
                                                   environment: env, executable: rclone)
                }
            }
            func rcloneCommand(_ arguments: [String]) async throws {
                _ = try await ChildCommand.run(["--config", config.path] + arguments, environment: env, executable: rclone)
            }
            // Seconds until every acknowledged object is on Storacha (the gateway uploads them after its 200s) and every
            // multipart object has its MD5 (computed after the 200 too), so that one measurement's work does not run
            // during the next.
            func drain() async throws -> Double {
                try await UpBench.timed {
                    let data = URL(fileURLWithPath: gateway.data)
                    while try StorachaBuckets.pendingUploads(directory: data) > 0 || StorachaBuckets.objectsAwaitingMD5(directory: data) > 0 {
                        try await Task.sleep(for: .milliseconds(50))
                    }
                }
            }
            // The best of `runs` copies of `from`, each into a fresh bucket or directory; for the gateway, with the CPU
            // seconds that rclone and the gateway used during the best one.
            let gatewayPID = gateway.process.processIdentifier
            func best(_ from: URL, _ name: String, remote: String?) async throws -> Double {
                var best = Double.infinity
                for run in 0..<max(1, runs) {
                    let bucket = "\(name)-\(run)"
                    if let remote {
                        try await rcloneCommand(["mkdir", "\(remote):\(bucket)"])
                        let before = (Platform.childrenCPUSeconds(), Platform.cpuSeconds(ofProcess: gatewayPID))
                        let seconds = try await copy(from, "\(remote):\(bucket)")
                        if remote == "st", seconds < best, let rclone = before.0, let server = before.1,
                           let rcloneAfter = Platform.childrenCPUSeconds(), let serverAfter = Platform.cpuSeconds(ofProcess: gatewayPID) {
                            cpu[name] = (rcloneAfter - rclone, serverAfter - server)
                        }
                        best = min(best, seconds)
                        every["\(name) \(remote)", default: []].append(seconds)
                    } else {
                        let target = base.appendingPathComponent("local").appendingPathComponent(bucket)
                        let seconds = try await copy(from, target.path)
                        best = min(best, seconds)
                        every["\(name) local", default: []].append(seconds)
                        // The small files' copies stay until the end: for minutes after thousands of files are
                        // removed, ext4 creates files several times slower (its inode allocator skips the recently
                        // freed ones: `recently_deleted` in a profile), which would make every later copy's
                        // baseline depend on the one before. One large file costs nothing of the kind.
                        if name == "large" { try? FileManager.default.removeItem(at: target) }
                    }
                    if remote == "st" { drains[name] = max(drains[name] ?? 0, try await drain()) }
                }
                return best
            }
            var cpu: [String: (rclone: Double, gateway: Double)] = [:]
            var drains: [String: Double] = [:]
            // Every run's seconds, by input and target ("small local", "large st", …): the spread beside the best.
            var every: [String: [Double]] = [:]
            let smallLocal = try await best(small, "small", remote: nil)
            let smallGateway = try await best(small, "small", remote: "st")
            let largeLocal = try await best(large, "large", remote: nil)
            let largeGateway = try await best(large, "large", remote: "st")
            let (smallDrain, largeDrain) = (drains["small"] ?? 0, drains["large"] ?? 0)
            var referenceSeconds: (small: Double, large: Double)?
            if reference != nil {
                referenceSeconds = (try await best(small, "small", remote: "ref"), try await best(large, "large", remote: "ref"))
            }
            let peak = Platform.peakResidentMemory(ofProcess: gateway.process.processIdentifier).map { Double($0) / 1_048_576 } ?? 0
            // The physical bound of the large copy, sent in signed parts: rclone and the gateway each hash every byte with
            // MD5 (each part's Content-MD5 and ETag) and SHA-256 (its signed payload), on the same cores, and every byte
            // must be on the disk, fsynced, before the gateway's 200.
            let md5Rate = BenchCommand.hashThroughput(Insecure.MD5.self, bytes: 256 << 20)
            let shaRate = BenchCommand.hashThroughput(SHA256.self, bytes: 256 << 20)
            let diskRate = try BenchCommand.durableWriteThroughput(in: base, bytes: size)
            let cores = ProcessInfo.processInfo.activeProcessorCount
            let hashingRate = Double(cores) / (2 / md5Rate + 2 / shaRate)
            let largeBound = min(hashingRate, diskRate)
            let (fsLocal, fsGateway) = (Double(files) / smallLocal, Double(files) / smallGateway)
            let (mbLocal, mbGateway) = (Double(size) / 1e6 / largeLocal, Double(size) / 1e6 / largeGateway)
            if json {
                // Keys in this order; numbers as JSON numbers.
                var fields: [(String, String)] = [
                    ("files", "\(files)"), ("fileSize", "\(fileSize)"), ("bytes", "\(size)"),
                    ("filesPerSecondLocal", "\(Int(fsLocal))"), ("filesPerSecondGateway", String(format: "%.1f", fsGateway)),
                    ("MBpsLocal", "\(Int(mbLocal))"), ("MBpsGateway", "\(Int(mbGateway))"), ("gatewayPeakRSSMiB", "\(Int(peak))"),
                    ("smallOnStorachaSeconds", String(format: "%.1f", smallDrain)),
                    ("largeOnStorachaSeconds", String(format: "%.1f", largeDrain)),
                    ("MD5MBps", "\(Int(md5Rate))"), ("SHA256MBps", "\(Int(shaRate))"), ("durableWriteMBps", "\(Int(diskRate))"),
                    ("largeBoundMBps", "\(Int(largeBound))"),
                    ("cores", "\(cores)"), ("transfers", transfers.map { "\($0)" } ?? "null"),
                ]
                for (key, name) in [("small local", "smallLocal"), ("small st", "smallGateway"), ("large local", "largeLocal"),
                                    ("large st", "largeGateway")] {
                    fields.append(("\(name)SecondsRuns", "[" + (every[key] ?? []).map { String(format: "%.3f", $0) }.joined(separator: ",") + "]"))
                }
                for name in ["small", "large"] {
                    guard let used = cpu[name] else { continue }
                    fields.append(("\(name)CPUSecondsRclone", String(format: "%.2f", used.rclone)))
                    fields.append(("\(name)CPUSecondsGateway", String(format: "%.2f", used.gateway)))
                }
                if let referenceSeconds {
                    fields.append(("filesPerSecondRcloneS3", "\(Int(Double(files) / referenceSeconds.small))"))
                    fields.append(("MBpsRcloneS3", "\(Int(Double(size) / 1e6 / referenceSeconds.large))"))
                }
                print("{" + fields.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",") + "}")
            } else {
                if let transfers { print("rclone        --transfers \(transfers) for every copy") }
                print("small files   \(files) × \(fileSize) bytes: local \(String(format: "%.0f", fsLocal)) files/s, gateway "
                      + "\(String(format: "%.1f", fsGateway)) files/s (\(String(format: "%.1f", fsGateway / fsLocal * 100))%)")
                print("large file    \(size) bytes: local \(String(format: "%.0f", mbLocal)) MB/s, gateway \(String(format: "%.0f", mbGateway)) MB/s "
                      + "(\(String(format: "%.0f", mbGateway / mbLocal * 100))%)")
                print("bound         large file \(String(format: "%.0f", largeBound)) MB/s, gateway at "
                      + "\(String(format: "%.0f", mbGateway / largeBound * 100))%: the lesser of hashing every byte twice with "
                      + "MD5 and SHA-256 on \(cores) cores (\(String(format: "%.0f", hashingRate)) MB/s; MD5 "
                      + "\(String(format: "%.0f", md5Rate)) MB/s, SHA-256 \(String(format: "%.0f", shaRate)) MB/s) and a durable "
                      + "write (uncached write and fsync \(String(format: "%.0f", diskRate)) MB/s here)")
                for (key, name, seconds) in [("small", "small files", smallGateway), ("large", "large file", largeGateway)] {
                    guard let used = cpu[key] else { continue }
                    print("cpu           \(name) to the gateway: rclone \(String(format: "%.2f", used.rclone)) s, gateway "
                          + "\(String(format: "%.2f", used.gateway)) s in \(String(format: "%.2f", seconds)) s on \(cores) cores "
                          + "(\(String(format: "%.0f", (used.rclone + used.gateway) / (seconds * Double(cores)) * 100))% busy)")
                }
                // The spread of the runs: the local directory's moves the most (the kernel's cost of fresh page-cache pages).
                func spread(_ key: String, _ work: Double, _ unit: String) -> String {
                    let rates = (every[key] ?? []).map { work / $0 }
                    return "\(String(format: "%.0f", rates.min() ?? 0))–\(String(format: "%.0f", rates.max() ?? 0)) \(unit)"
                }
                print("runs          small files local \(spread("small local", Double(files), "files/s")), gateway "
                      + "\(spread("small st", Double(files), "files/s")); large file local \(spread("large local", Double(size) / 1e6, "MB/s")), "
                      + "gateway \(spread("large st", Double(size) / 1e6, "MB/s"))")
                print("on Storacha   small files \(String(format: "%.1f", smallDrain)) s after rclone finished, large file "
                      + "\(String(format: "%.1f", largeDrain)) s after")
                if let referenceSeconds {
                    print("rclone serve s3 (a local directory): \(String(format: "%.0f", Double(files) / referenceSeconds.small)) files/s "
                          + "(\(String(format: "%.1f", Double(files) / referenceSeconds.small / fsLocal * 100))%), "
                          + "\(String(format: "%.0f", Double(size) / 1e6 / referenceSeconds.large)) MB/s "
                          + "(\(String(format: "%.0f", Double(size) / 1e6 / referenceSeconds.large / mbLocal * 100))%)")
                }
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

/// `rclone serve s3` over a local directory (its buckets are the directory's folders), for reference.
struct RcloneS3Server {
    let process: Process
    let url: String
    let accessKey = "REFERENCEKEY00000000"
    let secretKey = "reference-secret-for-the-bench"

    /// Starts it on a free port, or returns nil when this rclone has no `serve s3`.
    static func start(rclone: String, directory: URL, environment: [String: String]) async throws -> RcloneS3Server? {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return try await BlockingIO.runOnOwnThread {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            var server = RcloneS3Server(process: process, url: "")
            process.arguments = [rclone, "serve", "s3", "--addr", "127.0.0.1:0", "--auth-key", "\(server.accessKey),\(server.secretKey)",
                                 directory.path]
            process.environment = environment
            let err = Pipe()
            process.standardError = err
            process.standardOutput = FileHandle.nullDevice
            try process.run()
            // It logs "Starting s3 server on [http://127.0.0.1:PORT/]"; an rclone without `serve s3` exits instead.
            let marker = "Starting s3 server on ["
            var text = ""
            while text.range(of: marker).map({ !text[$0.upperBound...].contains("]") }) ?? true {
                let chunk = err.fileHandleForReading.availableData
                if chunk.isEmpty { return nil }
                text += String(decoding: chunk, as: UTF8.self)
            }
            guard let start = text.range(of: marker)?.upperBound, let end = text[start...].firstIndex(of: "]") else { return nil }
            server = RcloneS3Server(process: process, url: String(text[start..<end]).trimmingCharacters(in: CharacterSet(charactersIn: "/")))
            // Keep reading its log so that it never blocks on a full pipe.
            let handle = err.fileHandleForReading
            handle.readabilityHandler = { if $0.availableData.isEmpty { $0.readabilityHandler = nil } }
            return server
        }
    }
}
