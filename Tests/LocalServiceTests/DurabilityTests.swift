import Crypto
import Foundation
import IPLD
import LocalService
import StorachaClient
import Multiformats
import Testing
import TestSupport
import UCAN
import Ucanto
import UnixFS

actor Acknowledged {
    var uploads: [(CID, String, Data)] = []
    func add(_ root: CID, _ name: String, _ data: Data) { uploads.append((root, name, data)) }
    var count: Int { uploads.count }
}

@Suite(.serialized) struct DurabilityTests {
    /// One service per data directory: a second one (here or in another process) is refused, since both would
    /// write its database and blobs and each clears the other's unfinished writes at start; after a stop it starts.
    @Test func aDataDirectoryServesOneServiceAtATime() async throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let first = try await LocalServer.start(ServiceConfiguration(dataDirectory: dir, autoConfirm: true))
        await #expect(throws: DataDirectoryInUse.self) {
            _ = try await LocalServer.start(ServiceConfiguration(dataDirectory: dir, autoConfirm: true))
        }
        let child = try await StorachaBinary.run(["serve", "local", "--data", dir.path, "--port", "0"], in: dir)
        #expect(child.status != 0 && child.stderr.contains("another storacha process is serving"), "\(child.stderr)")
        await first.stop()
        let again = try await LocalServer.start(ServiceConfiguration(dataDirectory: dir, autoConfirm: true))
        await again.stop()
    }

    /// `kill -9` in the middle of uploads, then a restart on the same data: every acknowledged upload is
    /// intact and listed, and nothing half-written is stored or served.
    @Test func killNineThenRestart() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("storacha-crash-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let first = try await ServiceProcess.start(data: dir)
        let world = try await World.attach(url: first.url, did: first.did, dataDirectory: dir)
        let acked = Acknowledged()
        let workers = Task {
            await withTaskGroup(of: Void.self) { group in
                for w in 0..<6 {
                    group.addTask {
                        for i in 0..<1000 where !Task.isCancelled {
                            let data = lcg(20_000 + (w * 1000 + i) * 37 % 300_000, seed: UInt32(w * 1000 + i))
                            let name = "w\(w)-\(i).bin"
                            guard let result = try? await world.upload([ImportFile(name: name, data: data)]) else { return }
                            await acked.add(result.root, name, data)
                        }
                    }
                }
            }
        }
        let t0 = Date()
        while await acked.count < 12 {
            guard Date().timeIntervalSince(t0) < 180 else {
                first.kill9()
                workers.cancel()
                Issue.record("fewer than 12 uploads were acknowledged in 3 minutes")
                return
            }
            try await Task.sleep(nanoseconds: 20_000_000)
        }
        let t1 = Date()
        first.kill9()
        // Requests caught by the crash are abandoned, as a client would after an error or a timeout.
        workers.cancel()
        await workers.value
        print("crash test: 12 acks after \(t1.timeIntervalSince(t0)) s, workers stopped after \(Date().timeIntervalSince(t1)) s")
        let uploads = await acked.uploads
        #expect(uploads.count >= 12)

        let second = try await ServiceProcess.start(data: dir)
        defer { second.stop() }
        let after = world.reattached(url: second.url)
        for (root, name, data) in uploads {
            let get = try await after.invoke("upload/get", ["root": .link(root)])
            #expect(get.out.isOK, "acknowledged upload \(root) is listed")
            let r = try await after.client.request(.GET, "/ipfs/\(root)/\(name)")
            #expect(r.status == 200 && r.body == data, "acknowledged upload \(root) is intact")
        }
        // Every stored blob matches its name, and no partial write survived.
        let blobs = dir.appendingPathComponent("blobs")
        let tmp = try FileManager.default.contentsOfDirectory(atPath: blobs.appendingPathComponent(".tmp").path)
        #expect(tmp.isEmpty)
        for bucket in try FileManager.default.contentsOfDirectory(atPath: blobs.path) where bucket != ".tmp" {
            for name in try FileManager.default.contentsOfDirectory(atPath: blobs.appendingPathComponent(bucket).path) {
                let data = try Data(contentsOf: blobs.appendingPathComponent(bucket).appendingPathComponent(name))
                let digest = try Multihash(bytes: try Multibase.decode(name).bytes)
                #expect(digest.verifies(data), "blob \(name) is whole")
            }
        }
        // The restarted service keeps working.
        try await after.upload([ImportFile(name: "after.txt", data: Data("after restart".utf8))])
    }

    /// 32 concurrent clients each complete 20 small uploads with no error.
    @Test func thirtyTwoConcurrentClients() async throws {
        let world = try await World.start()
        defer { Task { await world.stop() } }
        let failures = try await withThrowingTaskGroup(of: Int.self) { group in
            for c in 0..<32 {
                let agent = Ed25519Signer.generate()
                var client = world
                client.spaceProof = try Delegation.delegate(issuer: world.space, audience: agent.did,
                                                            capabilities: Capabilities.spaceAccess.map { Capability(can: $0, with: world.space.did.string) },
                                                            expiration: .never)
                let clientWorld = client.with(agent: agent)
                group.addTask {
                    var failed = 0
                    for i in 0..<20 {
                        do { try await clientWorld.upload([ImportFile(name: "c\(c)-\(i).txt", data: Data("client \(c) upload \(i)".utf8))]) } catch { failed += 1 }
                    }
                    return failed
                }
            }
            var total = 0
            for try await f in group { total += f }
            return total
        }
        #expect(failures == 0)
        let list = try await world.invoke("upload/list", ["size": 1000])
        #expect(list.out.okValue?["size"]?.intValue == 640)
    }
}
