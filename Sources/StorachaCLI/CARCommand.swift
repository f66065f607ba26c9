import ArgumentParser
import CAR
import Foundation
import IPLD
import Multiformats
import StorachaClient
import SystemIO
import UnixFS

/// `storacha car …`: build and inspect CAR files offline.
struct CARCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "car",
        abstract: "Create and inspect CAR files exactly as `storacha up` would upload them.",
        subcommands: [Pack.self, Unpack.self, List.self, Roots.self, Blocks.self]
    )
}

/// How encoded files are cut into shards (`car pack`, `up`).
struct ShardingOptions: ParsableArguments {
    @Option(name: .customLong("shard-size"), help: "Maximum shard size in bytes.")
    var shardSize: Int = PackOptions.defaultShardSize

    @Flag(name: .customLong("no-dedupe"), help: "Keep repeated blocks (as clients before 1.3.0 did).")
    var noDedupe = false

    func validate() throws {
        if shardSize < Packer.minimumShardSize { throw ValidationError("--shard-size must be at least \(Packer.minimumShardSize) bytes") }
    }

    func packOptions(wrap: Bool) -> PackOptions {
        var settings = ImportSettings.storacha
        settings.dedupe = !noDedupe
        return PackOptions(shardSize: shardSize, wrap: wrap, settings: settings)
    }
}

/// Options shared by commands that encode files (`car pack`, `cid`).
struct EncodeOptions: ParsableArguments {
    @Flag(name: .customLong("no-wrap"), help: "Do not wrap a single file in a directory; its root is the file itself.")
    var noWrap = false

    @Flag(name: [.customShort("H"), .long], help: "Include files and directories whose names start with a dot.")
    var hidden = false

    func collect(_ paths: [String]) throws -> [ImportFile] {
        let files = try FileCollector.collect(paths: paths, hidden: hidden)
        guard !files.isEmpty else {
            throw CLIError("no files found in \(paths.joined(separator: ", ")) (hidden files need --hidden)")
        }
        return files
    }
}

extension CARCommand {
    struct Pack: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Pack files into the CAR shard(s) that `storacha up` would upload, and print the root CID.",
            discussion: "One shard is written to --output; with --output-dir (default: the current directory) every shard is written as DIR/<shardCID>.car. Shards are cut at --shard-size bytes; uploads smaller than the shard size always give a single CAR."
        )

        @Argument(help: "Files or directories to pack.")
        var paths: [String]

        @Option(name: .shortAndLong, help: "Write the CAR to this file (fails if the upload needs several shards).")
        var output: String?

        @Option(name: .customLong("output-dir"), help: "Write each shard as <shardCID>.car into this directory.")
        var outputDir: String?

        @Option(name: .customLong("index"), help: "Also write the sharded DAG index CAR (index/sharded/dag@0.1) to this file.")
        var indexPath: String?

        @OptionGroup var encode: EncodeOptions

        @OptionGroup var sharding: ShardingOptions

        @Flag(help: "Print one JSON line per shard, then the root, like `storacha up --json --verbose`.")
        var json = false

        func validate() throws {
            if output != nil && outputDir != nil { throw ValidationError("use either --output or --output-dir, not both") }
        }

        func run() async throws {
            try await userFacing {
                let files = try encode.collect(paths)
                let options = sharding.packOptions(wrap: !encode.noWrap)
                let result: PackResult
                if let output {
                    result = try await packToFile(files, options: options, output: URL(fileURLWithPath: output))
                } else {
                    let dir = URL(fileURLWithPath: outputDir ?? ".")
                    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
                    result = try await BlockingIO.runOnOwnThread { try Packer.pack(files, options: options, into: dir) }
                }
                if let indexPath {
                    try result.index.archive().write(to: URL(fileURLWithPath: indexPath), options: .atomic)
                }
                report(result)
            }
        }

        func packToFile(_ files: [ImportFile], options: PackOptions, output: URL) async throws -> PackResult {
            let parent = output.deletingLastPathComponent()
            let work = parent.appendingPathComponent(".storacha-pack-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: work) }
            let result = try await BlockingIO.runOnOwnThread { try Packer.pack(files, options: options, into: work) }
            guard result.shards.count == 1, let shard = result.shards.first else {
                throw CLIError("the upload needs \(result.shards.count) shards of at most \(options.shardSize) bytes; use --output-dir instead of --output")
            }
            if FileManager.default.fileExists(atPath: output.path) { try FileManager.default.removeItem(at: output) }
            try FileManager.default.moveItem(at: shard.url, to: output)
            return result
        }

        func report(_ result: PackResult) {
            if json {
                for shard in result.shards {
                    print(jsonLine(["shard": .link(shard.cid), "size": .integer(IPLDInteger(isNegative: false, magnitude: shard.size))]))
                }
                print(jsonLine(["root": .link(result.root)]))
            } else {
                for shard in result.shards {
                    printError("shard \(shard.cid) (\(shard.size) bytes)")
                }
                print(result.root)
            }
        }
    }

    struct Unpack: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Extract the files of a CAR (or of all the shards of one upload).",
            discussion: "The root is taken from the CAR header that names one. Every block is verified against its CID."
        )

        @Argument(help: "CAR file(s): one CAR, or all the shards of one DAG.")
        var cars: [String]

        @Option(name: .shortAndLong, help: "Where to write the file or directory (default: ./<rootCID>). Must not exist.")
        var output: String?

        @Option(help: "Extract this path inside the DAG instead of the whole root.")
        var path: String = ""

        func run() async throws {
            try await userFacing {
                let (store, root) = try await openDAG(cars)
                let exporter = UnixFSExporter(source: store)
                let target = try await exporter.resolve(root, path: path)
                let destination = URL(fileURLWithPath: output ?? target.description)
                _ = try await Extraction(exporter: exporter).run(target, to: destination)
                await store.close()
                printError("unpacked \(target) to \(destination.path)")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "ls",
            abstract: "List the paths and CIDs of the UnixFS DAG in a CAR."
        )

        @Argument(help: "CAR file(s).")
        var cars: [String]

        @Flag(help: "Print one JSON object per line: {\"cid\":…,\"path\":…,\"size\":…,\"type\":…}.")
        var json = false

        func run() async throws {
            try await userFacing {
                let (store, root) = try await openDAG(cars)
                let exporter = UnixFSExporter(source: store)
                try await walk(exporter, root, path: "")
                await store.close()
            }
        }

        func walk(_ exporter: UnixFSExporter, _ cid: CID, path: String) async throws {
            let entry = try await exporter.stat(cid)
            let type = entry.kind == .raw ? "file" : entry.kind.rawValue
            let shown = path.isEmpty ? "." : path
            if json {
                print(jsonLine(["cid": .link(cid), "path": .string(shown), "size": .integer(IPLDInteger(entry.size)), "type": .string(type)]))
            } else {
                print("\(cid)\t\(shown)\(entry.kind == .directory && !path.isEmpty ? "/" : "")")
            }
            if entry.kind == .directory {
                for child in try await exporter.list(cid) {
                    try await walk(exporter, child.cid, path: path.isEmpty ? child.name : path + "/" + child.name)
                }
            }
        }
    }

    struct Roots: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the root CIDs in a CAR header.")

        @Argument(help: "A CAR file.")
        var car: String

        func run() async throws {
            try await userFacing {
                let handle = try openForReading(car)
                defer { try? handle.close() }
                let reader = try CARReader(source: FileByteSource(handle: handle))
                for root in reader.header.roots { print(root) }
            }
        }
    }

    struct Blocks: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the CID of every block in a CAR, verifying each.")

        @Argument(help: "A CAR file.")
        var car: String

        func run() async throws {
            try await userFacing {
                let handle = try openForReading(car)
                defer { try? handle.close() }
                var reader = try CARReader(source: FileByteSource(handle: handle))
                while let b = try reader.next() { print(b.block.cid) }
            }
        }
    }
}

/// Indexes the CARs of one DAG and returns the root named by their headers.
func openDAG(_ cars: [String]) async throws -> (CARBlockStore, CID) {
    for path in cars where !FileManager.default.isReadableFile(atPath: path) {
        throw CLIError("cannot open \(path): no such file or not readable")
    }
    let store = try CARBlockStore(urls: cars.map { URL(fileURLWithPath: $0) })
    guard let root = await store.root else { throw CLIError("no root CID in the CAR header(s); nothing to read") }
    return (store, root)
}

func openForReading(_ path: String) throws -> FileHandle {
    do { return try FileHandle(forReadingFrom: URL(fileURLWithPath: path)) } catch {
        throw CLIError("cannot open \(path): no such file or not readable")
    }
}

/// One line of DAG-JSON (sorted keys, `{"/": cid}` links).
func jsonLine(_ map: [String: IPLDValue]) -> String {
    (try? DAGJSON.encodeString(.map(map))) ?? "{}"
}
