import ArgumentParser
import Foundation
import IPLD
import Multiformats
import StorachaClient
import UCAN

/// The low-level `storacha can blob|index|upload|filecoin …` commands: one capability each.
extension CanCommand {
    struct Blob: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "blob", abstract: "space/blob/* capabilities.",
                                                        subcommands: [Add.self, List.self, Remove.self])

        struct Add: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Store a blob (a file, or standard input) with space/blob/add.")

            @Argument(help: "The file (default: standard input).")
            var path: String?

            @OptionGroup var options: AgentOptions

            func run() async throws {
                try await options.withAgent { agent, _ in
                    let space = try agent.space(nil)
                    var temporary: URL?
                    defer { if let temporary { try? FileManager.default.removeItem(at: temporary) } }
                    let url: URL
                    if let path {
                        guard FileManager.default.isReadableFile(atPath: path) else { throw CLIError("failed to read data: cannot read \(path)") }
                        url = URL(fileURLWithPath: path)
                    } else {
                        url = try await UpCommand.copyStandardInput().url
                        temporary = url
                    }
                    let (digest, _) = try await agent.session(space: space).addBlob(.file(url))
                    let cid = CID(codec: CID.Codec.raw, multihash: digest)
                    printError("🐔 Stored \(Multibase.base58btc.encode(digest.bytes)) (\(cid))")
                }
            }
        }

        struct List: AsyncParsableCommand {
            static let configuration = CommandConfiguration(commandName: "ls", abstract: "List one page of blobs (space/blob/list).")

            @Flag(help: "One DAG-JSON {\"blob\"} per line.")
            var json = false

            @Option(help: "Page size.")
            var size: Int?

            @Option(help: "Start after this cursor.")
            var cursor: String?

            @OptionGroup var options: AgentOptions

            func run() async throws {
                try await options.withAgent { agent, _ in
                    var nb: [String: IPLDValue] = [:]
                    if let size { nb["size"] = .integer(IPLDInteger(size)) }
                    if let cursor { nb["cursor"] = .string(cursor) }
                    let page = try await agent.run("space/blob/list", with: try agent.space(nil).string, nb: nb, nonce: UUID().uuidString)
                    for item in page["results"]?.listValue ?? [] {
                        guard let blob = item["blob"] else { continue }
                        if json {
                            print(jsonLine(["blob": blob]))
                        } else if let bytes = blob["digest"]?.bytesValue, let digest = try? Multihash(bytes: bytes) {
                            print("\(Multibase.base58btc.encode(digest.bytes)) (\(CID(codec: CID.Codec.raw, multihash: digest)))")
                        }
                    }
                }
            }
        }

        struct Remove: AsyncParsableCommand {
            static let configuration = CommandConfiguration(commandName: "rm", abstract: "Remove a blob (space/blob/remove).")

            @Argument(help: "The blob's multihash, base58btc (z…).")
            var digest: String

            @OptionGroup var options: AgentOptions

            func run() async throws {
                try await options.withAgent { agent, _ in
                    guard digest.hasPrefix("z"), let decoded = try? Multibase.decode(digest),
                          let multihash = try? Multihash(bytes: decoded.bytes) else {
                        throw CLIError("\"\(digest)\" is not a base58btc encoded multihash")
                    }
                    _ = try await agent.run("space/blob/remove", with: try agent.space(nil).string, nb: ["digest": .bytes(multihash.bytes)])
                    printError("🐔 Removed \(digest)")
                }
            }
        }
    }

    struct Index: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "index", abstract: "space/index/* capabilities.",
                                                        subcommands: [Add.self])

        struct Add: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Register a stored index blob (space/index/add).")

            @Argument(help: "The index's CID (CAR codec, bagbaiera…).")
            var cid: String

            @OptionGroup var options: AgentOptions

            func run() async throws {
                try await options.withAgent { agent, _ in
                    guard let index = try? CID(cid), index.codec == CID.Codec.car else { throw CLIError("\"\(cid)\" is not a valid index CID") }
                    _ = try await agent.run("space/index/add", with: try agent.space(nil).string, nb: ["index": .link(index)])
                    printError("🐔 Added index \(index)")
                }
            }
        }
    }

    struct Upload: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "upload", abstract: "upload/* capabilities.",
                                                        subcommands: [Add.self, List.self, Remove.self])

        struct Add: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Register an upload: a root and its shards (upload/add).")

            @Argument(help: "The root CID.")
            var root: String

            @Argument(help: "The shard CIDs.")
            var shards: [String]

            @OptionGroup var options: AgentOptions

            func run() async throws {
                try await options.withAgent { agent, _ in
                    guard let rootCID = try? CID(root) else { throw CLIError("failed to parse root CID: \(root)") }
                    let links: [IPLDValue] = try shards.map { text in
                        guard let cid = try? CID(text) else { throw CLIError("failed to parse shard CID: \(text)") }
                        return .link(cid)
                    }
                    _ = try await agent.run("upload/add", with: try agent.space(nil).string, nb: ["root": .link(rootCID), "shards": .list(links)])
                    printError("🐔 Upload added \(rootCID)")
                }
            }
        }

        struct List: AsyncParsableCommand {
            static let configuration = CommandConfiguration(commandName: "ls", abstract: "List one page of uploads (upload/list).")

            @Flag(help: "One DAG-JSON object per upload.")
            var json = false

            @Flag(help: "Also list each upload's shards.")
            var shards = false

            @Option(help: "Page size.")
            var size: Int?

            @Option(help: "Start after this cursor.")
            var cursor: String?

            @Flag(help: "List the page before the cursor.")
            var pre = false

            @OptionGroup var options: AgentOptions

            func run() async throws {
                try await options.withAgent { agent, _ in
                    let space = try agent.space(nil)
                    var nb: [String: IPLDValue] = [:]
                    if let size { nb["size"] = .integer(IPLDInteger(size)) }
                    if let cursor { nb["cursor"] = .string(cursor) }
                    if pre { nb["pre"] = .bool(true) }
                    let page = try await agent.run("upload/list", with: space.string, nb: nb, nonce: UUID().uuidString)
                    for item in page["results"]?.listValue ?? [] {
                        guard let root = item["root"]?.linkValue else { continue }
                        let list = shards ? try await ListCommand.shards(of: root, agent: agent, space: space) : []
                        print(ListCommand.line(item, root: root, shards: list, json: json, tree: shards))
                    }
                }
            }
        }

        struct Remove: AsyncParsableCommand {
            static let configuration = CommandConfiguration(commandName: "rm", abstract: "Remove an upload (upload/remove), not its shards.")

            @Argument(help: "The root CID.")
            var root: String

            @OptionGroup var options: AgentOptions

            func run() async throws {
                try await options.withAgent { agent, _ in
                    guard let cid = try? CID(root.trimmingCharacters(in: .whitespaces)) else { throw CLIError("\(root) is not a CID") }
                    _ = try await agent.run("upload/remove", with: try agent.space(nil).string, nb: ["root": .link(cid)])
                }
            }
        }
    }

    struct Filecoin: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "filecoin", abstract: "filecoin/* capabilities.",
                                                        subcommands: [Info.self])

        struct Info: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Show a piece's aggregates and deals (filecoin/info).")

            @Argument(help: "The piece CID (bafkzcib…).")
            var piece: String

            @Flag(help: "One DAG-JSON object per deal.")
            var json = false

            @OptionGroup var options: AgentOptions

            func run() async throws {
                try await options.withAgent { agent, _ in
                    guard let cid = try? CID(piece), cid.multihash.code == 0x1011 else { throw CLIError("\(piece) is not a piece CID") }
                    let info = try await agent.run("filecoin/info", with: try agent.space(nil).string, nb: ["piece": .link(cid)],
                                                   nonce: UUID().uuidString)
                    let deals = info["deals"]?.listValue ?? []
                    if json {
                        for deal in deals {
                            var line: [String: IPLDValue] = [:]
                            line["aggregate"] = deal["aggregate"]?.linkValue.map { .string($0.description) }
                            line["provider"] = deal["provider"]
                            line["dealId"] = deal["aux"]?["dataSource"]?["dealID"]
                            print(jsonLine(line))
                        }
                    } else if deals.isEmpty {
                        print("\n      Piece CID: \(cid)\n      Deals: Piece being aggregated and offered for deal...\n      ")
                    } else {
                        print("\n    Piece CID: \(cid)\n    Deals: " + deals.map { deal in
                            "\n      Aggregate: \(deal["aggregate"]?.linkValue?.description ?? "")\n       Provider: "
                                + "\(deal["provider"]?.stringValue ?? "")\n        Deal ID: "
                                + "\(deal["aux"]?["dataSource"]?["dealID"]?.intValue ?? 0)\n    "
                        }.joined())
                    }
                }
            }
        }
    }
}
