import ArgumentParser
import Foundation
import StorachaClient
import UCAN

/// The network and profile options every agent command takes.
struct AgentOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "production (default) or local: the local service, with no account and no network ($STORACHA_NETWORK).", valueName: "network"))
    var network: String?

    @Option(name: .long, help: ArgumentHelp(
        "With --network local: the local service's data directory ($STORACHA_LOCAL_DATA; default ~/.local/share/storacha/local).",
        valueName: "dir"))
    var data: String?

    var environment: [String: String] { ProcessInfo.processInfo.environment }

    /// `production` or `local`.
    var networkName: String {
        (network ?? environment["STORACHA_NETWORK"].flatMap { $0.isEmpty ? nil : $0 } ?? "production").lowercased()
    }

    func validate() throws {
        guard ["production", "local"].contains(networkName) else {
            throw CLIError("unknown network \(networkName): use production or local")
        }
        if data != nil && networkName != "local" { throw CLIError("--data applies to --network local only") }
    }

    /// The local service's data directory.
    var localData: URL {
        let fromEnvironment = environment["STORACHA_LOCAL_DATA"].flatMap { $0.isEmpty ? nil : $0 }
        return URL(fileURLWithPath: data ?? fromEnvironment ?? ServeCommand.Local.defaultDataDirectory())
    }

    /// Runs `body` with the agent on the selected network; on the local network the service runs in
    /// this process for the command's duration unless `storacha serve local` already serves that directory.
    func withAgent<T>(_ body: (inout Agent, AgentContext) async throws -> T) async throws -> T {
        try await userFacing {
            let principal: Ed25519Signer?
            if let key = environment["STORACHA_PRINCIPAL"], !key.isEmpty {
                do { principal = try Ed25519Signer(parsing: key) } catch {
                    throw CLIError("STORACHA_PRINCIPAL is not an agent key (expected the Mg… string of `storacha key create`): \(error)")
                }
            } else {
                principal = nil
            }
            return try await withNetwork { network, local in
                var agent = try Agent.open(network: network, store: ProfileStore.forNetwork(network, environment: environment),
                                           principal: principal)
                return try await body(&agent, AgentContext(local: local))
            }
        }
    }

    /// Runs `body` on the selected network; on the local network the service runs in this process for the
    /// command's duration (and is given to `body`) unless `storacha serve local` already serves that directory.
    func withNetwork<T>(_ body: (Network, LocalNetwork?) async throws -> T) async throws -> T {
        guard networkName == "local" else {
            let network: Network
            do { network = try Network.fromEnvironment(environment) } catch { throw CLIError(ErrorText.line(error)) }
            return try await body(network, nil)
        }
        let local = try await LocalNetwork.attach(data: localData)
        do {
            let result = try await body(local.network, local)
            await local.stop()
            return result
        } catch {
            await local.stop()
            throw error
        }
    }
}

/// What a command may need beyond the agent: the local service it runs against, if any.
struct AgentContext {
    let local: LocalNetwork?
}
