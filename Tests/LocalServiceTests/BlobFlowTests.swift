import Foundation
import IPLD
import LocalService
import StorachaClient
import Multiformats
import Testing
import TestSupport
import UCAN
import Ucanto

@Suite(.serialized) struct BlobFlowTests {
    @Test func wholeBlobFlowOverHTTP() async throws {
        let world = try await World.start()
        defer { Task { await world.stop() } }
        let bytes = Data((0..<10_000).map { UInt8(truncatingIfNeeded: $0 &* 7) })
        let (digest, accept) = try await world.addBlob(bytes)
        guard case .ok(let ok) = accept.out, case .link(let site)? = ok["site"] else { Issue.record("accept failed: \(accept.out)"); return }
        let location = try #require(accept.forkedInvocations.first { $0.cid == site })
        #expect(location.capabilities[0].can == "assert/location")
        #expect(accept.verifySignature(world.running.service.identity.verifier))
        // The blob is listed and readable.
        let list = try await world.invoke("space/blob/list")
        guard case .ok(let listed) = list.out else { Issue.record("\(list.out)"); return }
        #expect(listed["size"]?.intValue == 1)
        let get = try await world.invoke("space/blob/get/0/1", ["digest": .bytes(digest.bytes)])
        #expect(get.out.okValue?["blob"]?["size"]?.intValue == bytes.count)
        let url = try #require(location.capabilities[0].nb?["location"]?.listValue?.first?.stringValue)
        let fetched = try await world.client.request(.GET, url)
        #expect(fetched.status == 200 && fetched.body == bytes)
        // Adding the same blob again needs no PUT: the service concludes put and accept itself.
        let again = try await world.invoke("space/blob/add", ["blob": ["digest": .bytes(digest.bytes), "size": .int(bytes.count)]])
        #expect(again.out.isOK)
        #expect(again.forkedInvocations.filter { $0.capabilities[0].can == "ucan/conclude" }.count == 5)
        #expect(Set(again.forkedInvocations.map { $0.capabilities[0].can }) == ["blob/allocate", "web3.storage/blob/allocate", "http/put", "blob/accept", "web3.storage/blob/accept", "ucan/conclude"])
        // Repeating an invocation repeats its receipt.
        let inv = try world.spaceInvocation("space/blob/list")
        let first = try await world.client.invoke(inv)
        let second = try await world.client.invoke(inv)
        #expect(first.cid == second.cid)
    }

    @Test func putRefusals() async throws {
        let world = try await World.start()
        defer { Task { await world.stop() } }
        let bytes = Data(repeating: 42, count: 5000)
        let digest = Multihash.sha256(bytes)
        let add = try await world.invoke("space/blob/add", ["blob": ["digest": .bytes(digest.bytes), "size": .int(bytes.count)]])
        let allocate = try #require(add.forkedInvocations.first { $0.capabilities[0].can == "ucan/conclude" })
        let receipt = try Receipt(root: try #require(allocate.capabilities[0].nb?["receipt"]?.linkValue), blocks: allocate.blocks)
        let address = try #require(receipt.out.okValue?["address"])
        let url = try #require(address["url"]?.stringValue)
        var headers: [String: String] = [:]
        for (k, v) in address["headers"]?.mapValue ?? [:] { headers[k] = v.stringValue }
        // Wrong bytes of the right length.
        let wrong = Data(repeating: 43, count: 5000)
        #expect(try await world.client.request(.PUT, url, headers: headers, body: wrong).status == 400)
        // Wrong length.
        var short = headers
        short["content-length"] = "4000"
        #expect(try await world.client.request(.PUT, url, headers: short, body: bytes.prefix(4000)).status == 400)
        // Tampered URL (signature no longer matches) and expired URL.
        #expect(try await world.client.request(.PUT, url.replacingOccurrences(of: "size=5000", with: "size=5001"), headers: headers, body: bytes).status == 403)
        let expired = url.replacingOccurrences(of: #"expires=\d+"#, with: "expires=1", options: .regularExpression)
        #expect(try await world.client.request(.PUT, expired, headers: headers, body: bytes).status == 403)
        #expect(!world.running.service.hasBlob(digest))
        // The right bytes are accepted.
        #expect(try await world.client.request(.PUT, url, headers: headers, body: bytes).status == 200)
        #expect(world.running.service.hasBlob(digest))
    }
}
