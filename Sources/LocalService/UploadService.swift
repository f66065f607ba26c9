import Foundation
import GRDB
import IPLD
import Logging
import Multiformats
import SystemIO
import UCAN
import Ucanto

/// The Storacha-compatible service: executes ucanto invocations (validated first), keeps receipts,
/// and owns the blob store. `HTTPServer` puts it on the network; tests may call it directly.
public final class UploadService: Sendable {
    /// Who the service is.
    public let identity: ServiceIdentity
    /// Configuration.
    public let configuration: ServiceConfiguration
    let store: ServiceStore
    let blobs: BlobStore
    let receipts: ReceiptLog
    /// Serializes the lifecycle of each blob (accept, remove, file deletion) by digest.
    let blobLocks = KeyedLock<Data>()
    let logger: Logger
    let base = Locked("http://127.0.0.1")
    let faultCounter = Locked(0)
    let gatewayFaultCounter = Locked(0)

    /// Opens (creating) the data directory.
    public init(configuration: ServiceConfiguration, logger: Logger = Logger(label: "storacha.local")) throws {
        let dir = configuration.dataDirectory
        try PrivateDirectory.make(dir)
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("emails"), withIntermediateDirectories: true)
        self.configuration = configuration
        self.identity = try ServiceIdentity.load(directory: dir, did: configuration.did)
        self.store = try ServiceStore(url: dir.appendingPathComponent("service.sqlite"))
        self.blobs = try BlobStore(root: dir.appendingPathComponent("blobs"))
        self.receipts = ReceiptLog(store: store)
        self.logger = logger
    }

    /// Whether this upload request is one that `faultEvery` fails.
    func injectFault() -> Bool {
        guard let every = configuration.faultEvery, every > 0 else { return false }
        return faultCounter.update { n in n += 1; return n % every == 0 }
    }

    /// Whether this gateway request is one that `gatewayFaultEvery` fails.
    func injectGatewayFault() -> Bool {
        guard let every = configuration.gatewayFaultEvery, every > 0 else { return false }
        return gatewayFaultCounter.update { n in n += 1; return n % every == 0 }
    }

    /// The base URL the service is reachable at (used in PUT URLs, blob locations and emails).
    public var baseURL: String { base.value }

    /// Sets the public base URL once the server is listening.
    public func setBaseURL(_ url: String) { base.value = url }

    var validator: Validator {
        let store = self.store
        return Validator(authority: identity.verifier, isRevoked: { cid in
            let key = cid.description
            return (try? await store.read { db in try Bool.fetchOne(db, sql: "SELECT 1 FROM revocations WHERE cid = ?", arguments: [key]) ?? false }) ?? false
        })
    }

    // MARK: Agent messages

    /// Runs every invocation of a request and returns the response message.
    public func handle(_ request: AgentMessage, now: Int = Clock.now()) async throws -> AgentMessage {
        var out: [Receipt] = []
        for invocation in request.invocations { out.append(try await execute(invocation, now: now)) }
        return try AgentMessage.response(out)
    }

    /// Executes one invocation, or replays its stored receipt.
    public func execute(_ invocation: Delegation, now: Int = Clock.now()) async throws -> Receipt {
        if let cached = try await receipts.receipt(for: invocation.cid.description) { return cached }
        let result: HandlerResult
        switch await validator.access(invocation, now: now) {
        case .failure(let error):
            var extra: [String: IPLDValue] = [:]
            if let capability = invocation.capabilities.first {
                extra["capability"] = ["can": .string(capability.can), "with": .string(capability.with)]
            }
            if case .invalidAudience(_, let expected, let actual) = error {
                extra["audience"] = .string(expected.string)
                extra["delegation"] = ["audience": .string(actual.string)]
            }
            result = HandlerResult(.failure(name: error.name, message: error.description, extra))
            logger.info("refused \(invocation.capabilities.first?.can ?? "?") \(invocation.cid): \(error.description)")
        case .success(let authorization):
            do {
                result = try await dispatch(Request(invocation: invocation, capability: authorization.capability, now: now))
            } catch let f as Failure {
                result = HandlerResult(f.outcome)
            } catch {
                result = HandlerResult(.failure(name: "HandlerExecutionError", message: "\(error)",
                                                ["error": true, "capability": ["can": .string(authorization.capability.can), "with": .string(authorization.capability.with)]]))
            }
        }
        let receipt = try Receipt.issue(issuer: identity.signer, ran: .delegation(invocation), result: result.out, fork: result.fork)
        // An internal failure (disk, database) is not the invocation's answer: leave it uncached so a retry runs again.
        if result.out.errorName != "HandlerExecutionError" { try await receipts.save(receipt, now: now) }
        return receipt
    }

    /// One validated invocation.
    struct Request: Sendable {
        let invocation: Delegation
        let capability: Capability
        let now: Int
        var nb: Caveats { Caveats(capability) }
        var with: String { capability.with }
    }

    /// What a handler produced.
    struct HandlerResult: Sendable {
        var out: Outcome
        var fork: [Receipt.Effect] = []
        init(_ out: Outcome, fork: [Receipt.Effect] = []) {
            self.out = out
            self.fork = fork
        }
    }

    func dispatch(_ r: Request) async throws -> HandlerResult {
        switch r.capability.can {
        case "space/blob/add": return try await blobAdd(r)
        case "space/blob/list": return try await blobList(r)
        case "space/blob/remove": return try await blobRemove(r)
        case "space/blob/get/0/1": return try await blobGet(r)
        case "ucan/conclude": return try await conclude(r)
        case "ucan/revoke": return try await revoke(r)
        case "space/index/add": return try await indexAdd(r)
        case "upload/add": return try await uploadAdd(r)
        case "upload/get": return try await uploadGet(r)
        case "upload/remove": return try await uploadRemove(r)
        case "upload/list": return try await uploadList(r)
        case "upload/shard/list": return try await uploadShardList(r)
        case "access/authorize": return try await authorize(r)
        case "access/claim": return try await claim(r)
        case "access/delegate": return try await delegate(r)
        case "provider/add": return try await providerAdd(r)
        case "plan/get": return try await planGet(r)
        case "subscription/list": return try await subscriptionList(r)
        case "space/info": return try await spaceInfo(r)
        case "usage/report": return try await usageReport(r)
        case "filecoin/offer": return try await filecoinOffer(r)
        case "filecoin/info": return try await filecoinInfo(r)
        default:
            return HandlerResult(.failure(name: "HandlerNotFound", message: "service does not implement {can: \"\(r.capability.can)\"} handler",
                                          ["error": true, "capability": ["can": .string(r.capability.can), "with": .string(r.capability.with)]]))
        }
    }

    // MARK: Shared helpers

    func isProvisioned(_ space: String) async throws -> Bool {
        try await store.read { db in try Bool.fetchOne(db, sql: "SELECT 1 FROM providers WHERE space = ?", arguments: [space]) ?? false }
    }

    func requireProvisioned(_ space: String) async throws {
        guard try await isProvisioned(space) else {
            throw Failure(name: "InsufficientStorage", message: "\(space) has no storage provider; provision it with provider/add")
        }
    }

    /// A `ucan/conclude` invocation carrying `receipt` and its blocks, as upload-api's
    /// `createConcludeInvocation` builds it: `with` the issuer's did:key, a fact listing every receipt block.
    func concludeEffect(_ receipt: Receipt, issuer: some Signer, issuerKey: DID, audience: DID) throws -> Delegation {
        let blocks = receipt.export()
        var fact: [String: IPLDValue] = [:]
        for (i, b) in blocks.enumerated() { fact[String(i)] = .link(b.cid) }
        return try Delegation.invoke(issuer: issuer, audience: audience,
                                     capability: Capability(can: "ucan/conclude", with: issuerKey.string, nb: ["receipt": .link(receipt.cid)]),
                                     expiration: .never, facts: [fact], attachments: blocks)
    }

    /// A conclusion issued by the service to itself.
    func serviceConclusion(_ receipt: Receipt) throws -> Delegation {
        try concludeEffect(receipt, issuer: identity.signer, issuerKey: identity.key.did, audience: identity.did)
    }

    /// Writes the "email" with the login link to the log and to `emails/`.
    func sendEmail(to account: DID, subject: String, body: String) {
        let text = "To: \(account.email ?? account.string)\nSubject: \(subject)\n\n\(body)\n"
        logger.notice("email to \(account.email ?? account.string): \(subject)\n\(body)")
        let name = "\(Int(Date().timeIntervalSince1970 * 1000))-\(account.email ?? "account").eml"
        let url = configuration.dataDirectory.appendingPathComponent("emails").appendingPathComponent(name)
        try? Data(text.utf8).write(to: url, options: .atomic)
    }
}

extension UploadService {
    /// `true` when the blob store holds `digest` (for tests and diagnostics).
    public func hasBlob(_ digest: Multihash) -> Bool { blobs.has(digest) }
}
