import ArgumentParser
import Foundation
import IPLD
import Logging
import S3Gateway
import S3Protocol
import StorachaClient
import SystemIO
import UCAN

/// `storacha serve s3`: an S3-compatible gateway over a Storacha space, for rclone, the aws CLI and boto3.
struct ServeS3Command: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "s3",
        abstract: "Serve a Storacha space as S3 buckets (for rclone, the aws CLI, boto3).",
        discussion: """
            Every object is stored as its own upload in the space; buckets and S3 metadata live in the gateway's index \
            under --data, with local copies of the objects (up to --cache-size; copies of objects not uploaded yet \
            always stay). Each bucket's tree (keys, their uploads and S3 metadata) is also kept on Storacha as snapshots, \
            a few seconds after changes and at shutdown, so that a gateway started on the same agent and space with an \
            empty --data rebuilds every bucket from Storacha alone (docs/S3-SNAPSHOTS.md). Every request must be signed \
            (AWS Signature V4) with the access key and secret key, which \
            are generated and kept in DATA/credentials.json (0600) unless given. With --local the local network is \
            used (no account, no network): on a fresh profile the agent logs in and creates a space by itself.
            """
    )

    @Option(help: "Address and port to listen on.")
    var listen: String = "127.0.0.1:9000"

    @Option(help: "The space to serve (DID or name; default: the current space).")
    var space: String?

    @Option(help: "The gateway's data directory (index and local copies; default: ~/.local/share/storacha/s3/<space>).")
    var data: String?

    @Option(help: ArgumentHelp("""
        Room for local copies under --data (e.g. 500MB, 10GiB, 0, or unlimited): beyond it, the copies of objects \
        already on Storacha are dropped, least recently read first, and read back from Storacha when asked for.
        """, valueName: "size"))
    var cacheSize: String = "10GiB"

    @Option(help: "Snapshots kept per bucket on Storacha (at least 1); older ones are removed.")
    var keepSnapshots: Int = 1

    @Option(help: "The access key clients sign with ($STORACHA_S3_ACCESS_KEY).")
    var accessKey: String?

    @Option(help: "The secret key clients sign with ($STORACHA_S3_SECRET_KEY).")
    var secretKey: String?

    @Option(help: ArgumentHelp("""
        A users file (JSON, mode 0600; `storacha s3 user add` writes it): each user's keys and the buckets they may \
        read or write. Without it the gateway has one user, with every bucket.
        """, valueName: "file"))
    var users: String?

    @Flag(help: "Use the local network (an in-process local service unless `serve local` runs on its data directory).")
    var local = false

    @Option(help: "With --local: the local service's data directory ($STORACHA_LOCAL_DATA).")
    var localData: String?

    @Flag(help: "Print {\"url\",\"accessKey\",\"secretKey\",\"space\",\"data\"} as one JSON line once listening.")
    var json = false

    func validate() throws {
        guard listenAddress != nil else { throw ValidationError("--listen must be HOST:PORT") }
        guard (accessKey == nil) == (secretKey == nil) else { throw ValidationError("give both --access-key and --secret-key, or neither") }
        if localData != nil && !local { throw ValidationError("--local-data applies to --local only") }
        guard keepSnapshots >= 1 else { throw ValidationError("--keep-snapshots must be at least 1") }
        guard localCopyLimit != nil else {
            throw ValidationError("--cache-size must be a size such as 500MB, 10GiB or 0, or unlimited (not \(cacheSize))")
        }
    }

    /// `--cache-size` in bytes (``LocalCopyBudget/unlimited`` for `unlimited`).
    var localCopyLimit: UInt64? {
        cacheSize.lowercased() == "unlimited" ? LocalCopyBudget.unlimited : ByteText.parseSize(cacheSize)
    }

    var listenAddress: (host: String, port: Int)? {
        guard let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]),
            (0...65535).contains(port) else { return nil }
        var host = String(listen[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return (host.isEmpty ? "127.0.0.1" : host, port)
    }

    func run() async throws {
        var arguments: [String] = []
        if local { arguments += ["--network", "local"] + (localData.map { ["--data", $0] } ?? []) }
        let options = try AgentOptions.parse(arguments)
        try await options.withAgent { agent, context in try await serve(agent: &agent, context: context, options: options) }
    }

    /// Runs the gateway until SIGTERM or SIGINT.
    func serve(agent: inout Agent, context: AgentContext, options: AgentOptions) async throws {
        let spaceDID = try await ServeS3Command.servedSpace(space, agent: &agent, local: context.local)
        let env = options.environment
        let directory = ServeS3Command.directory(data, env: env, space: spaceDID.string)
        let credentials = try S3Credentials.resolve(accessKey: accessKey ?? env["STORACHA_S3_ACCESS_KEY"],
                                                    secretKey: secretKey ?? env["STORACHA_S3_SECRET_KEY"], directory: directory)
        let gatewayUsers: GatewayUsers
        do {
            gatewayUsers = try users.map { try GatewayUsers(file: URL(fileURLWithPath: $0)) }
                ?? GatewayUsers(single: credentials.accessKey, secretKey: credentials.secretKey)
        } catch { throw CLIError("\(error)") }
        var logger = Logger(label: "storacha.s3")
        logger.logLevel = env["STORACHA_LOG_LEVEL"].flatMap { Logger.Level(rawValue: $0.lowercased()) } ?? .notice
        let buckets = try StorachaBuckets(session: agent.session(space: spaceDID), gatewayURL: agent.network.publicGateway,
                                          directory: directory, localCopyLimit: localCopyLimit ?? LocalCopyBudget.unlimited,
                                          keepSnapshots: keepSnapshots, snapshotTiming: ServeS3Command.snapshotTiming(env), users: gatewayUsers,
                                          logger: logger)
        // One user: buckets recovered from their snapshots are this gateway's, whatever key made them.
        let owner = credentials.accessKey
        let fromFile = gatewayUsers.fromFile
        let recovered: @Sendable (String) -> String = { fromFile ? $0 : owner }
        do { try await buckets.start(recoveringFor: recovered) } catch { throw CLIError("\(error)") }
        let handler = S3Handler(backend: buckets, secret: { gatewayUsers.secret(for: $0) })
        guard let address = listenAddress else { throw CLIError("--listen must be HOST:PORT") }
        let running: S3HTTPServer.Running
        do {
            running = try await S3HTTPServer.start(handler, host: address.host, port: address.port, stopOnSignals: true, logger: logger)
        } catch {
            throw CLIError("cannot listen on \(listen): \(error)")
        }
        try? DurableFile.write(Data(jsonLine(["url": .string(running.url)]).utf8), to: directory.appendingPathComponent("server.json"),
                               permissions: 0o600)
        var fields: [String: IPLDValue] = ["url": .string(running.url), "space": .string(spaceDID.string), "data": .string(directory.path)]
        if let users { fields["users"] = .string(users) } else {
            fields["accessKey"] = .string(credentials.accessKey)
            fields["secretKey"] = .string(credentials.secretKey)
        }
        let text = json ? jsonLine(fields)
            : ServeS3Command.banner(url: running.url, credentials: users == nil ? credentials : nil, space: spaceDID.string,
                                    directory: directory)
        // Unbuffered, so that a parent process sees the URL at once.
        FileHandle.standardOutput.write(Data((text + "\n").utf8))
        try await running.wait()
        // SIGTERM or SIGINT: the changes since the last snapshot go up before the gateway exits.
        await buckets.stop()
    }

    /// Snapshot timing; `STORACHA_SNAPSHOT_PAUSE_AFTER_TREE` (seconds) holds each snapshot between its two uploads, for
    /// crash tests, and `STORACHA_SNAPSHOT_LONGEST` (seconds, default 30) is how long changes that keep coming may wait
    /// for their snapshot, for tests that need a known number of snapshots on machines of any speed.
    static func snapshotTiming(_ env: [String: String]) -> SnapshotTiming {
        var timing = SnapshotTiming()
        if let longest = env["STORACHA_SNAPSHOT_LONGEST"].flatMap(Double.init), longest > 0 { timing.longest = longest }
        if let pause = env["STORACHA_SNAPSHOT_PAUSE_AFTER_TREE"].flatMap(Double.init) { timing.pauseAfterTree = .milliseconds(Int(pause * 1000)) }
        return timing
    }

    /// The space to serve; on the local network, a fresh profile logs in and gets a space of its own.
    static func servedSpace(_ wanted: String?, agent: inout Agent, local: LocalNetwork?) async throws -> DID {
        if let wanted { return try agent.space(wanted) }
        if let current = agent.profile.currentSpace { return current }
        guard let local else {
            throw CLIError("no current space: create one with `storacha space create`, or pass --space")
        }
        let account = try Agent.account(email: "s3@storacha.local")
        if !agent.accounts.contains(where: { $0.did == account }) {
            let request = try await agent.requestLogin(account)
            try await local.confirmLogin(agent: agent.did)
            try agent.importProofs(try await agent.waitForLogin(request))
        }
        let created = Agent.OwnedSpace.generate(name: "s3")
        try await agent.provision(created.did, account: account)
        try agent.save(created)
        try agent.use(created.did)
        return created.did
    }

    /// The gateway data directory for `space` (or `data` when given).
    static func directory(_ data: String?, env: [String: String], space: String) -> URL {
        URL(fileURLWithPath: data ?? defaultDirectory(env, space: space))
    }

    static func defaultDirectory(_ env: [String: String], space: String) -> String {
        let base: URL
        if let xdg = env["XDG_DATA_HOME"], !xdg.isEmpty { base = URL(fileURLWithPath: xdg) } else {
            base = URL(fileURLWithPath: env["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()).appendingPathComponent(".local/share")
        }
        return base.appendingPathComponent("storacha/s3/\(space)").path
    }

    /// What `serve s3` prints once listening; without `credentials` (a users file), the keys are each user's own.
    static func banner(url: String, credentials: S3Credentials?, space: String, directory: URL) -> String {
        let remote = RcloneRemote.section("storacha", url: url, accessKey: credentials?.accessKey ?? "<your access key>",
                                          secretKey: credentials?.secretKey ?? "<your secret key>")
            .split(separator: "\n").map { "  " + $0 }.joined(separator: "\n")
        let keys = credentials.map { "  access key  \($0.accessKey)\n  secret key  \($0.secretKey)\n" } ?? "  users       from the users file\n"
        return """
        Storacha S3 gateway
          url         \(url)
          space       \(space)
        \(keys)  data        \(directory.path)

        rclone remote (add it to ~/.config/rclone/rclone.conf):
        \(remote)

        then: rclone copy ~/photos storacha:photos
        """
    }
}

/// The gateway's access key and secret key: given, or generated once and kept in DATA/credentials.json (0600).
struct S3Credentials: Codable {
    let accessKey: String
    let secretKey: String

    static func resolve(accessKey: String?, secretKey: String?, directory: URL) throws -> S3Credentials {
        if let accessKey, let secretKey, !accessKey.isEmpty, !secretKey.isEmpty { return S3Credentials(accessKey: accessKey, secretKey: secretKey) }
        let file = directory.appendingPathComponent("credentials.json")
        if let data = try? Data(contentsOf: file) {
            guard let stored = try? JSONDecoder().decode(S3Credentials.self, from: data) else {
                throw CLIError("\(file.path) is not a credentials file; remove it to make new keys")
            }
            return stored
        }
        try PrivateDirectory.make(directory)
        let made = generate()
        try DurableFile.write(Data(try JSONEncoder().encode(made)), to: file, permissions: 0o600)
        return made
    }

    /// A new random access key (`SC` and 18 base32 letters) and secret key (40 letters and digits).
    static func generate() -> S3Credentials {
        func random(_ count: Int, _ alphabet: String) -> String {
            let chars = Array(alphabet)
            var rng = SystemRandomNumberGenerator()
            return String((0..<count).map { _ in chars[Int.random(in: 0..<chars.count, using: &rng)] })
        }
        return S3Credentials(accessKey: "SC" + random(18, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"),
                             secretKey: random(40, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"))
    }
}
