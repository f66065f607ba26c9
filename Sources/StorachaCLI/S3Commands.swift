import ArgumentParser
import CivilTime
import Foundation
import IPLD
import S3Gateway
import StorachaClient
import SystemIO

/// `storacha s3 …`: the S3 gateway's buckets as they live on Storacha (snapshots, restore) and its users.
struct S3Command: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "s3", abstract: "Snapshots and users of the `storacha serve s3` gateway.",
        subcommands: [Snapshots.self, Restore.self, S3UserCommand.self])

    /// Where a gateway keeps its data: as `serve s3` picks it for the same space and options.
    struct Location: ParsableArguments {
        @Option(help: "The space the gateway serves (DID or name; default: the current space).")
        var space: String?

        @Option(help: "The gateway's data directory, if `serve s3` was given one.")
        var data: String?

        @Flag(help: "The gateway runs on the local network (`serve s3 --local`).")
        var local = false

        /// Runs `body` with the data directory and the agent's public gateway URL.
        func with<T>(_ body: (URL, String) async throws -> T) async throws -> T {
            let options = try AgentOptions.parse(local ? ["--network", "local"] : [])
            return try await options.withAgent { agent, _ in
                let directory = try data.map { URL(fileURLWithPath: $0) }
                    ?? ServeS3Command.directory(nil, env: options.environment, space: try agent.space(space).string)
                guard FileManager.default.fileExists(atPath: directory.appendingPathComponent("index.sqlite").path) else {
                    throw CLIError("no gateway data in \(directory.path): start `storacha serve s3\(local ? " --local" : "")` there first")
                }
                return try await body(directory, agent.network.publicGateway)
            }
        }
    }

    struct Snapshots: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List a bucket's retained snapshots: number, time, root CID, blocks added.",
            discussion: """
                The root is the UnixFS directory of the bucket's keys: `storacha get <root>/path/to/key` and any IPFS \
                gateway resolve paths in it. The manifest is the root of the snapshot's upload (docs/S3-SNAPSHOTS.md).
                """)

        @Argument(help: "The bucket.")
        var bucket: String

        @Flag(help: "One JSON object per snapshot ({seq, created, root, manifest, addedBlocks}).")
        var json = false

        @OptionGroup var location: Location

        func run() async throws {
            try await location.with { directory, _ in
                let list = try await BucketSnapshots.list(directory: directory, bucket: bucket)
                if list.isEmpty && !json { print("No snapshot of bucket \(bucket) yet") }
                for s in list {
                    let time = UTCDateTime(s.created).iso8601(milliseconds: false)
                    if json {
                        print(jsonLine(["seq": .int(s.seq), "created": .string(time), "root": .string(s.root.description),
                                        "manifest": .string(s.manifest.description), "addedBlocks": .int(s.addedBlocks)]))
                    } else {
                        print("\(s.seq)  \(time)  \(s.root)  (\(s.addedBlocks) blocks added, manifest \(s.manifest))")
                    }
                }
            }
        }
    }

    struct Restore: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make a new bucket hold what a bucket held at one of its retained snapshots (no bytes copied).",
            discussion: "Works while the gateway runs; the new bucket belongs to the old one's owner.")

        @Argument(help: "The bucket the snapshot is of.")
        var bucket: String

        @Option(help: "The snapshot: its root or manifest CID (see `storacha s3 snapshots`).")
        var snapshot: String

        @Option(help: "The new bucket.")
        var to: String

        @OptionGroup var location: Location

        func run() async throws {
            try await location.with { directory, gateway in
                let count = try await BucketSnapshots.restore(directory: directory, bucket: bucket, snapshot: snapshot, to: to,
                                                              gatewayURL: gateway)
                print("🐔 bucket \(to) now holds the \(count) objects of \(bucket) at snapshot \(snapshot)")
            }
        }
    }
}

/// `storacha s3 user add|rm|ls`: the users file that `serve s3 --users FILE` authorizes every request against.
struct S3UserCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "user", abstract: "Manage the users of `serve s3 --users FILE` (a running gateway sees changes at once).",
        subcommands: [Add.self, Remove.self, List.self])

    struct FileOption: ParsableArguments {
        @Option(help: ArgumentHelp("The users file (created 0600 if missing).", valueName: "file"))
        var users: String

        var url: URL { URL(fileURLWithPath: users) }

        func load() throws -> [GatewayUser] {
            guard FileManager.default.fileExists(atPath: users) else { return [] }
            do { return try UsersFile.decode(try Data(contentsOf: url), path: users) } catch { throw CLIError("\(error)") }
        }

        func save(_ list: [GatewayUser]) throws {
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try DurableFile.write(UsersFile.encode(list), to: url, permissions: 0o600)
        }
    }

    /// Comma-separated bucket patterns.
    static func patterns(_ text: String?) -> [String] {
        (text ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add a user with new keys and print them.",
            discussion: """
                Bucket patterns are names, prefixes ending in * (alice-*), or * for every bucket of the space. A user \
                may create, write and delete the buckets of --write and read those of --read, and sees no other bucket.
                """)

        @Argument(help: "The user's name.")
        var name: String

        @Option(help: ArgumentHelp("Buckets the user may read and write (comma-separated patterns).", valueName: "patterns"))
        var write: String?

        @Option(help: ArgumentHelp("Buckets the user may only read (comma-separated patterns).", valueName: "patterns"))
        var read: String?

        @OptionGroup var file: FileOption

        func validate() throws {
            guard !S3UserCommand.patterns(write).isEmpty || !S3UserCommand.patterns(read).isEmpty else {
                throw ValidationError("give the user some buckets with --write or --read")
            }
        }

        func run() async throws {
            var list = try file.load()
            guard !list.contains(where: { $0.name == name }) else { throw CLIError("user \(name) exists already in \(file.users)") }
            let keys = S3Credentials.generate()
            list.append(GatewayUser(name: name, accessKey: keys.accessKey, secretKey: keys.secretKey,
                                    write: S3UserCommand.patterns(write), read: S3UserCommand.patterns(read)))
            try file.save(list)
            print("🐔 user \(name) added to \(file.users)")
            print("   access key  \(keys.accessKey)")
            print("   secret key  \(keys.secretKey)")
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "rm", abstract: "Remove a user (their buckets stay).")

        @Argument(help: "The user's name.")
        var name: String

        @OptionGroup var file: FileOption

        func run() async throws {
            let list = try file.load()
            guard list.contains(where: { $0.name == name }) else { throw CLIError("no user \(name) in \(file.users)") }
            try file.save(list.filter { $0.name != name })
            print("🐔 user \(name) removed from \(file.users)")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "ls", abstract: "List the users (without their secrets).")

        @Flag(help: "One JSON object per user ({name, accessKey, write, read}).")
        var json = false

        @OptionGroup var file: FileOption

        func run() async throws {
            for user in try file.load() {
                if json {
                    print(jsonLine(["name": .string(user.name), "accessKey": .string(user.accessKey),
                                    "write": .list(user.write.map { .string($0) }), "read": .list(user.read.map { .string($0) })]))
                } else {
                    print("\(user.name)  \(user.accessKey)  write: \(user.write.joined(separator: ",")), read: \(user.read.joined(separator: ","))")
                }
            }
        }
    }
}
