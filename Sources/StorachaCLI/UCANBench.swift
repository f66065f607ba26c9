import ArgumentParser
import Foundation
import IPLD
import UCAN
import Ucanto

/// `storacha bench ucan`: invocation signing and validation throughput.
struct UCANBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ucan",
        abstract: "Measure UCAN invocations signed, encoded and validated per second."
    )

    @Option(help: "Invocations per measurement.")
    var count: Int = 2000

    @Flag(help: "Print the results as one JSON object.")
    var json = false

    func run() async throws {
        try await userFacing {
            let service = Ed25519Signer.generate().withDID("did:web:bench.local")
            let space = Ed25519Signer.generate()
            let agent = Ed25519Signer.generate()
            let proof = try Delegation.delegate(issuer: space, audience: agent.did, capabilities: Capabilities.spaceAccess.map {
                Capability(can: $0, with: space.did.string)
            }, expiration: .never)
            let capability = Capability(can: "upload/list", with: space.did.string, nb: ["size": 10])

            var start = DispatchTime.now()
            var invocations: [Delegation] = []
            invocations.reserveCapacity(count)
            for i in 0..<count {
                invocations.append(try Delegation.invoke(issuer: agent, audience: service.did, capability: capability,
                                                         nonce: String(i), proofs: [.delegation(proof)]))
            }
            let signRate = Double(count) / seconds(since: start)

            start = DispatchTime.now()
            var bodies: [Data] = []
            for inv in invocations { bodies.append(try AgentMessage.request([inv]).encode()) }
            var decoded: [Delegation] = []
            for body in bodies { decoded.append(contentsOf: try AgentMessage.decode(body).invocations) }
            let codecRate = Double(count) / seconds(since: start)

            let validator = Validator(authority: service.verifier)
            start = DispatchTime.now()
            var authorized = 0
            for inv in decoded { if case .success = await validator.access(inv) { authorized += 1 } }
            let verifyRate = Double(count) / seconds(since: start)
            guard authorized == count else { throw CLIError("only \(authorized) of \(count) invocations validated") }

            if json {
                print(#"{"invocations":\#(count),"signPerSecond":\#(Int(signRate)),"encodeDecodePerSecond":\#(Int(codecRate)),"validatePerSecond":\#(Int(verifyRate))}"#)
            } else {
                print("invocations         \(count) (each with a 9-capability proof)")
                print("issue + sign        \(Int(signRate))/s")
                print("message encode+decode \(Int(codecRate))/s")
                print("validate (2 sigs)   \(Int(verifyRate))/s")
            }
        }
    }

    func seconds(since start: DispatchTime) -> Double {
        Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
    }
}
