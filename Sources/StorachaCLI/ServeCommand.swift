import ArgumentParser
import Foundation
import LocalService
import Logging
import UCAN

/// `storacha serve …`: run services locally.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run a Storacha-compatible service on this machine.",
        subcommands: [Local.self, ServeS3Command.self]
    )

    struct Local: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run the local Storacha service (upload API, blob store, receipts, gateway), persisting to disk.",
            discussion: "No account and no network are needed. Login emails are written to the log and to DATA/emails/; open the link they contain (or use --auto-confirm) to log in."
        )

        @Option(help: "Data directory (default: $XDG_DATA_HOME/storacha/local or ~/.local/share/storacha/local).")
        var data: String?

        @Option(help: "Address to listen on.")
        var host: String = "127.0.0.1"

        @Option(help: "Port to listen on (0 picks a free port).")
        var port: Int = 8787

        @Option(name: .customLong("gateway-port"), help: "Also serve the gateway alone on this port.")
        var gatewayPort: Int?

        @Option(help: "The service DID (a did:web).")
        var did: String = ServiceConfiguration.defaultDID.string

        @Flag(name: .customLong("auto-confirm"), help: "Confirm login requests at once instead of waiting for the emailed link (for tests).")
        var autoConfirm = false

        @Flag(inversion: .prefixedNo, help: "Check each filecoin/offer against the stored bytes (production checks pieces later).")
        var verifyPieces = true

        @Option(name: .customLong("fault-every"), help: ArgumentHelp("Testing: answer every Nth agent message and blob PUT with 503.",
                                                                     visibility: .hidden))
        var faultEvery: Int?

        @Option(name: .customLong("fault-status"), help: ArgumentHelp("Testing: the status of injected faults.", visibility: .hidden))
        var faultStatus: Int = 503

        @Option(name: .customLong("fault-gateway-every"), help: ArgumentHelp("Testing: fail every Nth gateway GET too.", visibility: .hidden))
        var gatewayFaultEvery: Int?

        @Flag(name: .customLong("fault-drop"), help: ArgumentHelp("Testing: faults cut the connection instead of answering.",
                                                                  visibility: .hidden))
        var faultDrop = false

        @Flag(help: "Print {\"url\":…,\"did\":…} as JSON once listening.")
        var json = false

        func validate() throws {
            guard (0...65535).contains(port) else { throw ValidationError("--port must be 0…65535") }
            guard did.hasPrefix("did:web:") else { throw ValidationError("--did must be a did:web (the JS client only provisions with a did:web service)") }
        }

        func run() async throws {
            try await userFacing {
                let dir = URL(fileURLWithPath: data ?? Local.defaultDataDirectory())
                var logger = Logger(label: "storacha.local")
                logger.logLevel = .notice
                var config = ServiceConfiguration(dataDirectory: dir, host: host, port: port, gatewayPort: gatewayPort, did: try DID(did),
                                                  autoConfirm: autoConfirm)
                config.faultEvery = faultEvery
                config.faultStatus = faultStatus
                config.verifyPieces = verifyPieces
                config.gatewayFaultEvery = gatewayFaultEvery
                config.faultDrops = faultDrop
                let running: RunningService
                do { running = try await LocalServer.start(config, logger: logger) } catch {
                    throw CLIError("cannot start the local service on \(host):\(port): \(error)")
                }
                var lines: [String]
                if json {
                    lines = [jsonLine(["url": .string(running.url), "did": .string(running.did.string)])]
                } else {
                    lines = ["Storacha local service", "  url   \(running.url)", "  did   \(running.did)"]
                    if let g = running.gatewayURL { lines.append("  gateway \(g)") }
                    lines.append("  data  \(dir.path)")
                }
                // Unbuffered, so that a parent process sees the URL at once.
                FileHandle.standardOutput.write(Data((lines.joined(separator: "\n") + "\n").utf8))
                // Agent commands on `--network local` find this service through the file.
                try? LocalNetwork.announce(data: dir, url: running.url, did: running.did)
                defer { try? FileManager.default.removeItem(at: LocalNetwork.serverFile(dir)) }
                try await running.wait()
            }
        }

        static func defaultDataDirectory() -> String {
            let env = ProcessInfo.processInfo.environment
            if let xdg = env["XDG_DATA_HOME"], !xdg.isEmpty { return xdg + "/storacha/local" }
            return (env["HOME"] ?? FileManager.default.currentDirectoryPath) + "/.local/share/storacha/local"
        }
    }
}
