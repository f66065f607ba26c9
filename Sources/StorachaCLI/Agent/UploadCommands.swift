import ArgumentParser
import CAR
import Foundation
import IPLD
import Multiformats
import StorachaClient
import SystemIO
import UCAN
import UnixFS

/// `storacha up [paths…]`: store files in the current space.
struct UpCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "up", abstract: "Store files in the current space and print their gateway link.",
        discussion: "Files become the same UnixFS DAG, CAR shards and sharded DAG index as with the official CLI (and `storacha car "
            + "pack`); each shard is stored with space/blob/add and its piece CID offered with filecoin/offer. With no path, "
            + "standard input is stored as one file.",
        aliases: ["upload", "put"])

    @Argument(help: "Files or directories (none: standard input).")
    var paths: [String] = []

    @OptionGroup var encode: EncodeOptions

    @OptionGroup var sharding: ShardingOptions

    @Flag(help: "Print {\"root\": …} as DAG-JSON (with --verbose, one {\"shard\",\"size\",\"piece\"} line per shard first).")
    var json = false

    @Flag(help: "Print each shard with its size and piece CID.")
    var verbose = false

    @Flag(name: [.customShort("c"), .long], help: "Upload the DAG of a CAR file (its first root), re-sharded.")
    var car = false

    @Option(help: "Shards stored at once.")
    var concurrency: Int = 4

    @Option(help: "Attempts per request on network errors and 5xx answers (with exponential backoff); 4xx are not retried.")
    var retries: Int = 6

    func validate() throws {
        guard (1...64).contains(concurrency) else { throw ValidationError("--concurrency must be 1…64") }
        guard (1...100).contains(retries) else { throw ValidationError("--retries must be 1…100") }
    }

    @OptionGroup var options: AgentOptions

    func run() async throws {
        try await options.withAgent { agent, context in
            let space = try agent.space(nil)
            var wrap = !encode.noWrap
            var files: [ImportFile] = []
            var stdinCopy: URL?
            defer { if let stdinCopy { try? FileManager.default.removeItem(at: stdinCopy) } }
            for path in paths where !FileManager.default.fileExists(atPath: path) {
                throw CLIError("The path \(URL(fileURLWithPath: path).standardizedFileURL.path) does not exist")
            }
            if car {
                guard paths.count <= 1 else { throw CLIError("multiple CAR files not supported") }
            } else if paths.isEmpty {
                let copy = try await UpCommand.copyStandardInput()
                stdinCopy = copy.url
                files = [ImportFile(name: "stdin", size: copy.size, content: .file(copy.url))]
                wrap = false
            } else {
                files = try encode.collect(paths)
                let total = files.reduce(UInt64(0)) { $0 + $1.size }
                printError("\(files.count) file\(files.count == 1 ? "" : "s") \(ByteText.filesize(Int(clamping: total)))")
            }
            let packing = sharding.packOptions(wrap: wrap)
            let (json, verbose) = (self.json, self.verbose)
            let session = agent.session(space: space, retry: RetryPolicy(attempts: retries))
            let journal = try UploadJournal(directory: UploadJournal.defaultDirectory(options.environment), service: agent.network.serviceDID,
                                            space: space)
            let carSize = car ? (paths.first.flatMap { try? FileManager.default.attributesOfItem(atPath: $0)[.size] as? NSNumber })?.uint64Value : nil
            let expected = carSize ?? files.reduce(UInt64(0)) { $0 + $1.size }
            let progress = ProgressLine(enabled: Platform.isTerminal(2), expectedBytes: expected, shardSize: packing.shardSize)
            let report: @Sendable (SpaceSession.StoredShard) async -> Void = { shard in
                let piece = shard.piece?.description ?? "none"
                if verbose {
                    let note = shard.resumed ? " (already stored)" : ""
                    await progress.print("\(shard.cid) \(ByteText.megabytes(shard.size))\(note)\n   └── Piece CID: \(piece)")
                }
                if json && verbose {
                    var line: [String: IPLDValue] = ["shard": .link(shard.cid),
                                                     "size": .integer(IPLDInteger(isNegative: false, magnitude: shard.size))]
                    if let p = shard.piece { line["piece"] = .link(p) }
                    print(jsonLine(line))
                }
                await progress.advance(shard)
            }
            let result: PackResult
            if car {
                let input: URL
                if let path = paths.first { input = URL(fileURLWithPath: path) } else {
                    let copy = try await UpCommand.copyStandardInput()
                    stdinCopy = copy.url
                    input = copy.url
                }
                do { result = try await session.upload(car: input, options: packing, concurrency: concurrency, journal: journal,
                                                       onShard: report) } catch let e as CARError {
                    throw CLIError("\(paths.first ?? "standard input") is not a readable CAR file: \(e)")
                }
            } else {
                result = try await session.upload(files, options: packing, concurrency: concurrency, journal: journal, onShard: report)
            }
            await progress.finish()
            let count = car ? 1 : files.count
            printError("🐔 Stored \(count) file\(count == 1 ? "" : "s")")
            // A service that ran inside this command is gone once it ends: point at `serve local`'s default port.
            let inProcess = context.local?.running != nil
            let link = inProcess ? "http://127.0.0.1:8787/ipfs/\(result.root)" : agent.network.link(result.root.description)
            if inProcess && !json { printError("(run `storacha serve local --data \(options.localData.path)` to serve it there)") }
            print(json ? jsonLine(["root": .link(result.root)]) : "🐔 \(link)")
        }
    }

    /// Standard input, copied to a private temporary file (its size must be known to import it).
    static func copyStandardInput() async throws -> (url: URL, size: UInt64) {
        try await BlockingIO.run {
            let url = FileManager.default.temporaryDirectory.appendingPathComponent("storacha-stdin-\(UUID().uuidString)")
            guard FileManager.default.createFile(atPath: url.path, contents: nil, attributes: [.posixPermissions: 0o600]) else {
                throw CLIError("cannot create a temporary file for standard input in \(url.deletingLastPathComponent().path)")
            }
            let out = try FileHandle(forWritingTo: url)
            defer { try? out.close() }
            var size: UInt64 = 0
            while let chunk = try FileHandle.standardInput.read(upToCount: 1 << 20), !chunk.isEmpty {
                try out.write(contentsOf: chunk)
                size += UInt64(chunk.count)
            }
            return (url, size)
        }
    }
}

/// `storacha ls`: the uploads in the current space.
struct ListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ls", abstract: "List the uploads in the current space.",
                                                    aliases: ["list"])

    @Flag(help: "One DAG-JSON object per upload ({root, shards, insertedAt, updatedAt}).")
    var json = false

    @Flag(help: "Also list each upload's shards.")
    var shards = false

    @OptionGroup var options: AgentOptions

    func run() async throws {
        try await options.withAgent { agent, _ in
            let space = try agent.space(nil)
            var cursor: String?
            var count = 0
            repeat {
                var nb: [String: IPLDValue] = [:]
                if let cursor { nb["cursor"] = .string(cursor) }
                let page = try await agent.run("upload/list", with: space.string, nb: nb, nonce: UUID().uuidString)
                for item in page["results"]?.listValue ?? [] {
                    guard let root = item["root"]?.linkValue else { continue }
                    count += 1
                    let list = shards ? try await ListCommand.shards(of: root, agent: agent, space: space) : []
                    print(ListCommand.line(item, root: root, shards: list, json: json, tree: shards))
                }
                cursor = page["cursor"]?.stringValue
                if (page["results"]?.listValue ?? []).isEmpty { cursor = nil }
            } while cursor != nil
            if count == 0 && !json {
                print("🐔 No uploads in space\n🐔 Try out `storacha up <path to files>` to upload some")
            }
        }
    }

    /// One upload as the JS CLI prints it: DAG-JSON `{…item, shards}`, a tree with its shards, or the root.
    static func line(_ item: IPLDValue, root: CID, shards: [CID], json: Bool, tree: Bool) -> String {
        if json {
            var entry = item.mapValue ?? [:]
            entry["shards"] = .list(shards.map { .link($0) })
            return jsonLine(entry)
        }
        guard tree else { return root.description }
        return "\(root)\n└─┬ shards\n" + shards.enumerated().map { i, s in "  \(i == shards.count - 1 ? "└──" : "├──") \(s)" }
            .joined(separator: "\n")
    }

    /// Every shard of `root` (`upload/shard/list`, all pages).
    static func shards(of root: CID, agent: Agent, space: DID) async throws -> [CID] {
        var out: [CID] = []
        var cursor: String?
        repeat {
            var nb: [String: IPLDValue] = ["root": .link(root)]
            if let cursor { nb["cursor"] = .string(cursor) }
            let page = try await agent.run("upload/shard/list", with: space.string, nb: nb, nonce: UUID().uuidString)
            let results = page["results"]?.listValue?.compactMap(\.linkValue) ?? []
            out += results
            cursor = results.isEmpty ? nil : page["cursor"]?.stringValue
        } while cursor != nil
        return out
    }
}

/// `storacha rm <root>`: remove an upload (and with `--shards` the shards it lists).
struct RemoveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rm", abstract: "Remove an upload from the current space; --shards also removes its shards.")

    @Argument(help: "The upload's root CID.")
    var root: String

    @Flag(help: "Also remove the shards of the upload (space/blob/remove).")
    var shards = false

    @OptionGroup var options: AgentOptions

    func run() async throws {
        try await options.withAgent { agent, _ in
            guard let cid = try? CID(root.trimmingCharacters(in: .whitespaces)) else { throw CLIError("\(root) is not a CID") }
            let space = try agent.space(nil)
            if shards {
                for shard in try await ListCommand.shards(of: cid, agent: agent, space: space) {
                    _ = try await agent.run("space/blob/remove", with: space.string, nb: ["digest": .bytes(shard.multihash.bytes)])
                }
            }
            _ = try await agent.run("upload/remove", with: space.string, nb: ["root": .link(cid)])
        }
    }
}

/// `storacha open <cid>`: the gateway link.
struct OpenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "open", abstract: "Print the gateway link of a CID.")

    @Argument(help: "A CID (optionally with a path).")
    var cid: String

    @OptionGroup var options: AgentOptions

    func run() async throws {
        let (root, path) = try GatewayOptions.target(cid)
        let network: Network
        if options.networkName == "local" {
            network = (await LocalNetwork.runningServer(options.localData)) ?? .local(url: "http://127.0.0.1:8787", did: "did:web:localhost")
        } else {
            do { network = try Network.fromEnvironment(options.environment) } catch { throw CLIError(error.description) }
        }
        print(network.link(path.isEmpty ? root.description : "\(root)/\(path)"))
    }
}
