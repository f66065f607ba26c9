import Foundation
import IPLD
import LocalService
import Logging
import StorachaClient
import SystemIO
import UCAN

/// The local network: a `storacha serve local` already serving the data directory (found through
/// the `server.json` it writes there), or the same service started in this process on a free port.
struct LocalNetwork: Sendable {
    /// The service as a network.
    let network: Network
    /// The data directory.
    let data: URL
    /// The in-process service, when this command started one.
    let running: RunningService?

    /// The file `serve local` writes while it listens: `{"url":…,"did":…}`.
    static func serverFile(_ data: URL) -> URL { data.appendingPathComponent("server.json") }

    /// Finds or starts the service for `data`.
    /// The service started here is announced like `serve local`, so that other commands (a `storacha ls` beside a
    /// `serve s3 --local`) use it rather than start a second service on the same data.
    static func attach(data: URL) async throws -> LocalNetwork {
        if let found = await runningServer(data) { return LocalNetwork(network: found, data: data, running: nil) }
        var logger = Logger(label: "storacha.local")
        logger.logLevel = .error
        let config = ServiceConfiguration(dataDirectory: data, port: 0, autoConfirm: true)
        let running: RunningService
        do { running = try await LocalServer.start(config, logger: logger) } catch is DataDirectoryInUse {
            // Another process is starting or running the service: use it once it announces itself.
            for _ in 0..<100 {
                if let found = await runningServer(data) { return LocalNetwork(network: found, data: data, running: nil) }
                try await Task.sleep(for: .milliseconds(100))
            }
            throw CLIError("another storacha process holds the local network's data (\(data.path)) but does not answer: stop it, "
                           + "or use another --data")
        } catch {
            throw CLIError("cannot start the local service on \(data.path): \(error)")
        }
        try? announce(data: data, url: running.url, did: running.did)
        return LocalNetwork(network: .local(url: running.url, did: running.did), data: data, running: running)
    }

    /// The service a live `serve local` announces for `data`, if it answers.
    static func runningServer(_ data: URL) async -> Network? {
        guard let bytes = try? Data(contentsOf: serverFile(data)), let value = try? DAGJSON.decode(bytes),
              let url = value["url"]?.stringValue, let didText = value["did"]?.stringValue, let did = try? DID(didText) else { return nil }
        var probe = ServiceConnection(url: url, did: did)
        probe.timeout = .seconds(2)
        guard let answer = try? await probe.request(.GET, "/"), answer.status == 200 else { return nil }
        return .local(url: url, did: did)
    }

    /// Records that `serve local` listens at `url` (removed again when it stops).
    static func announce(data: URL, url: String, did: DID) throws {
        let line = jsonLine(["url": .string(url), "did": .string(did.string)])
        try DurableFile.write(Data((line + "\n").utf8), to: serverFile(data), permissions: 0o644)
    }

    /// Stops a service started here (and withdraws its announcement).
    func stop() async {
        guard let running else { return }
        if let bytes = try? Data(contentsOf: LocalNetwork.serverFile(data)), let value = try? DAGJSON.decode(bytes),
           value["url"]?.stringValue == running.url {
            try? FileManager.default.removeItem(at: LocalNetwork.serverFile(data))
        }
        await running.stop()
    }

    /// Confirms a login at once: an in-process service confirmed it already (auto-confirm); a running
    /// `serve local` wrote the email into the data directory, whose link is opened here.
    func confirmLogin(agent: DID) async throws {
        guard running == nil else { return }
        let mailbox = data.appendingPathComponent("emails")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: mailbox.path))?.filter { $0.hasSuffix(".eml") }.sorted() ?? []
        for name in names.reversed() {
            guard let text = try? String(contentsOf: mailbox.appendingPathComponent(name), encoding: .utf8), text.contains(agent.string),
                  let start = text.range(of: "http"), let link = text[start.lowerBound...].split(whereSeparator: { $0.isWhitespace }).first,
                  link.contains("/validate-email?") else { continue }
            let answer = try await network.connection.request(.GET, String(link))
            guard answer.status == 200 else { throw CLIError("the local service refused the login link (HTTP \(answer.status))") }
            return
        }
        throw CLIError("no login email for \(agent) in \(mailbox.path)")
    }
}
