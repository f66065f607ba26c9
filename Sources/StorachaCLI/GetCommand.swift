import ArgumentParser
import Foundation
import Multiformats
import StorachaClient
import UnixFS

/// Where `get` and `cat` read from: `--gateway`, else the current network's gateway.
struct GatewayOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Trustless gateway URL (default: $STORACHA_GATEWAY_URL, else the network's gateway: "
        + "https://storacha.link on production; on --network local, the local service, started here if none runs).",
        valueName: "url"))
    var gateway: String?

    @Option(help: "Blocks fetched at once.")
    var parallel: Int = 16

    @Option(help: "Attempts per block on network errors and HTTP 5xx/429 (1 = no retry).")
    var retries: Int = 6

    @OptionGroup var network: AgentOptions

    func validate() throws {
        guard parallel >= 1 else { throw ValidationError("--parallel must be at least 1") }
        guard retries >= 1 else { throw ValidationError("--retries must be at least 1") }
        if gateway != nil && network.network != nil { throw CLIError("give --gateway or --network, not both") }
    }

    /// Runs `body` with an exporter over the gateway; a local service started for it stops afterwards.
    func withExporter<T>(_ body: (UnixFSExporter) async throws -> T) async throws -> T {
        func exporter(_ url: String) -> UnixFSExporter {
            UnixFSExporter(source: PrefetchingBlockSource(GatewayBlockSource(url: url, retry: RetryPolicy(attempts: retries)),
                                                          window: parallel))
        }
        let environment = network.environment
        if let url = gateway ?? environment["STORACHA_GATEWAY_URL"].flatMap({ $0.isEmpty ? nil : $0 }) {
            return try await body(exporter(url))
        }
        return try await network.withNetwork { network, _ in try await body(exporter(network.publicGateway)) }
    }

    /// Resolves `<cid>[/path]` with `exporter`: the root, the path and the target CID.
    static func resolve(_ text: String, with exporter: UnixFSExporter) async throws -> (root: CID, path: String, cid: CID) {
        let (root, path) = try GatewayOptions.target(text)
        return (root, path, try await exporter.resolve(root, path: path))
    }

    /// Splits `<cid>[/path]` (an `/ipfs/` prefix is allowed).
    static func target(_ text: String) throws -> (CID, String) {
        var t = Substring(text)
        if t.hasPrefix("/ipfs/") { t = t.dropFirst(6) } else if t.hasPrefix("ipfs://") { t = t.dropFirst(7) }
        let parts = t.split(separator: "/", maxSplits: 1)
        guard let first = parts.first, let cid = try? CID(String(first)) else { throw CLIError("\(text) does not start with a CID") }
        return (cid, parts.count > 1 ? String(parts[1]) : "")
    }
}

/// `storacha get`: download a file or directory through a gateway, verifying every block.
struct GetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "get",
        abstract: "Download a file or directory by CID through a trustless gateway, verifying every block.",
        discussion: """
            Blocks are fetched with ?format=raw, several at once (--parallel), and checked against their CIDs. The download is \
            written to a hidden .<name>.<cid>.storacha-partial sibling and renamed when complete; if the network fails, run the \
            same command again to resume where it stopped.
            """
    )

    @Argument(help: "<cid>[/path]")
    var target: String

    @Option(name: .shortAndLong, help: "Where to write it (default: ./<cid> or the last path segment). Must not exist.")
    var output: String?

    @OptionGroup var gateway: GatewayOptions

    func run() async throws {
        try await userFacing {
            try await gateway.withExporter { exporter in
                let (root, path, cid) = try await GatewayOptions.resolve(target, with: exporter)
                let name = output ?? (path.isEmpty ? root.description : String(path.split(separator: "/").last ?? Substring(root.description)))
                let destination = URL(fileURLWithPath: name)
                let outcome = try await Extraction(exporter: exporter).run(cid, to: destination)
                printError("saved \(cid) to \(destination.path)\(outcome.resumed ? " (resumed)" : "")")
            }
        }
    }
}

/// `storacha cat`: write a file's bytes to standard output.
struct CatCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cat",
        abstract: "Write a file's bytes (or a byte range) to standard output, verifying every block."
    )

    @Argument(help: "<cid>[/path]")
    var target: String

    @Option(help: "Byte range START-END (inclusive) or START-.")
    var range: String?

    @OptionGroup var gateway: GatewayOptions

    func run() async throws {
        try await userFacing {
            try await gateway.withExporter { exporter in
                let cid = try await GatewayOptions.resolve(target, with: exporter).cid
                var span: Range<UInt64>? = nil
                if let range {
                    let size = try await exporter.stat(cid).size
                    let parts = range.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
                    guard parts.count == 2, let start = UInt64(parts[0]), start <= size else {
                        throw CLIError("--range must be START-END or START- within the file (size \(size))")
                    }
                    let end = parts[1].isEmpty ? size : min(size, (UInt64(parts[1]) ?? 0) + 1)
                    guard end >= start else { throw CLIError("--range end is before its start") }
                    span = start..<end
                }
                let out = FileHandle.standardOutput
                try await exporter.read(cid, range: span) { data in try out.write(contentsOf: data) }
            }
        }
    }
}
