import ArgumentParser
import Foundation
import LocalService
import Logging
import StorachaClient
import UCAN
import Ucanto

/// `storacha bench service`: the local service on loopback.
struct ServiceBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "service",
        abstract: "Measure the local service on loopback: invocations per second and blob PUT throughput."
    )

    @Option(help: "Concurrent clients.")
    var clients: Int = 16

    @Option(help: "Invocations per client.")
    var invocations: Int = 200

    @Option(help: "Blobs to store for the PUT measurement.")
    var blobs: Int = 16

    @Option(name: .customLong("blob-size"), help: "Size of each blob in bytes.")
    var blobSize: Int = 16 << 20

    @Flag(help: "Print the results as one JSON object.")
    var json = false

    func run() async throws {
        try await userFacing {
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("storacha-bench-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: dir) }
            var logger = Logger(label: "storacha.bench")
            logger.logLevel = .error
            let running = try await LocalServer.start(ServiceConfiguration(dataDirectory: dir, autoConfirm: true), logger: logger)
            var agent = try Agent.open(network: .local(url: running.url, did: running.did),
                                       store: ProfileStore(url: dir.appendingPathComponent("agent.json")))
            let account = try DID.mailto(email: "bench@example.com")
            try agent.importProofs(try await agent.waitForLogin(try await agent.requestLogin(account)))
            let space = Agent.OwnedSpace.generate(name: "bench")
            try await agent.provision(space.did, account: account)
            try agent.save(space)
            let session = agent.session(space: space.did)

            var start = DispatchTime.now()
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<clients {
                    group.addTask {
                        for _ in 0..<invocations { _ = try await session.invoke("upload/list", ["size": 1], nonce: UUID().uuidString).requireOK("upload/list") }
                    }
                }
                try await group.waitForAll()
            }
            let invocationRate = Double(clients * invocations) / seconds(since: start)

            let payloads = (0..<blobs).map { i in Data((0..<blobSize).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ i) }) }
            start = DispatchTime.now()
            try await withThrowingTaskGroup(of: Void.self) { group in
                for chunk in stride(from: 0, to: payloads.count, by: max(1, payloads.count / 4)) {
                    let part = Array(payloads[chunk..<min(payloads.count, chunk + max(1, payloads.count / 4))])
                    group.addTask { for p in part { try await session.addBlob(p) } }
                }
                try await group.waitForAll()
            }
            let putRate = Double(blobs * blobSize) / 1e6 / seconds(since: start)
            await running.stop()
            if json {
                print(#"{"clients":\#(clients),"invocationsPerSecond":\#(Int(invocationRate)),"blobs":\#(blobs),"blobSize":\#(blobSize),"blobAddMBps":\#(Int(putRate))}"#)
            } else {
                print("invocations   \(clients) clients × \(invocations) upload/list: \(Int(invocationRate))/s")
                print("blob/add+PUT  \(blobs) × \(blobSize) bytes, 4 at a time: \(String(format: "%.0f", putRate)) MB/s")
            }
        }
    }

    func seconds(since start: DispatchTime) -> Double { Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9 }
}
