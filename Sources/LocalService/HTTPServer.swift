import CAR
import Foundation
import HTTPTypes
import Hummingbird
import IPLD
import Logging
import ServiceLifecycle
import SystemIO
import Multiformats
import UCAN
import Ucanto
import UnixFS

/// A running local service: its URL and DID; ``stop()`` shuts it down.
public final class RunningService: Sendable {
    /// Base URL, e.g. `http://127.0.0.1:41235`.
    public let url: String
    /// Gateway-only URL when a gateway port was configured.
    public let gatewayURL: String?
    /// The service.
    public let service: UploadService
    let task: Task<Void, Error>
    let group: ServiceGroup
    /// The data directory's lock, held while the service runs.
    let lock: FileHandle

    init(url: String, gatewayURL: String?, service: UploadService, task: Task<Void, Error>, group: ServiceGroup, lock: FileHandle) {
        self.url = url
        self.gatewayURL = gatewayURL
        self.service = service
        self.task = task
        self.group = group
        self.lock = lock
    }

    /// The service DID.
    public var did: DID { service.identity.did }

    /// Stops the server and waits for it to finish.
    public func stop() async {
        await group.triggerGracefulShutdown()
        _ = try? await task.value
        try? lock.close()
    }

    /// Waits until the server stops (for the CLI).
    public func wait() async throws { try await task.value }
}

/// Another local service holds the data directory.
public struct DataDirectoryInUse: Error, Sendable, CustomStringConvertible {
    /// The data directory.
    public let path: String
    public var description: String {
        "another storacha process is serving \(path): stop it, or give this one another data directory"
    }
}

/// Puts an ``UploadService`` on HTTP: `POST /` (ucanto), `GET /receipt/<task>`, `PUT`/`GET /blob/<digest>`,
/// `GET /validate-email`, and the trustless gateway under `/ipfs/`.
public enum LocalServer {
    /// Starts the service in this process and returns once it is listening.
    /// Throws ``DataDirectoryInUse`` when another service (in this process or another) serves the same data directory.
    public static func start(_ configuration: ServiceConfiguration, logger: Logger = Logger(label: "storacha.local")) async throws -> RunningService {
        // One service per data directory: two would share its database and blob files, and each clears the
        // other's unfinished writes at start.
        let directory = configuration.dataDirectory
        try PrivateDirectory.make(directory)
        let lock = try await lockDataDirectory(directory)
        let service = try UploadService(configuration: configuration, logger: logger)
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        let host = configuration.host
        let main = Application(responder: ServiceResponder(service: service, gatewayOnly: false),
                               configuration: .init(address: .hostname(host, port: configuration.port), serverName: "storacha-local"),
                               onServerRunning: { channel in continuation.yield(channel.localAddress?.port ?? 0) },
                               logger: logger)
        var gateway: Application<ServiceResponder>?
        if let gatewayPort = configuration.gatewayPort {
            gateway = Application(responder: ServiceResponder(service: service, gatewayOnly: true),
                                  configuration: .init(address: .hostname(host, port: gatewayPort), serverName: "storacha-gateway"),
                                  onServerRunning: { channel in continuation.yield(-(channel.localAddress?.port ?? 0)) },
                                  logger: logger)
        }
        var services: [any Service] = [main]
        if let gateway { services.append(gateway) }
        let group = ServiceGroup(configuration: .init(services: services, gracefulShutdownSignals: [], logger: logger))
        let task = Task { try await group.run() }
        var mainPort = 0
        var gatewayPort: Int?
        let expected = gateway == nil ? 1 : 2
        var seen = 0
        for await p in ports {
            if p >= 0 { mainPort = p } else { gatewayPort = -p }
            seen += 1
            if seen == expected { break }
        }
        let displayHost = host.contains(":") ? "[\(host)]" : host
        let url = "http://\(displayHost):\(mainPort)"
        service.setBaseURL(url)
        return RunningService(url: url, gatewayURL: gatewayPort.map { "http://\(displayHost):\($0)" }, service: service, task: task, group: group,
                              lock: lock)
    }

    /// Takes the data directory's lock, waiting up to two seconds for it: a lock just released can still be held
    /// for a moment by a child process that another thread is spawning (it holds a copy of every descriptor until
    /// its `exec` closes them), and a service stopping in another process releases it only when that process exits.
    static func lockDataDirectory(_ directory: URL) async throws -> FileHandle {
        let path = directory.appendingPathComponent("service.lock").path
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: .seconds(2))
        while true {
            if let lock = try Platform.lockExclusively(path) { return lock }
            guard clock.now < deadline else { throw DataDirectoryInUse(path: directory.path) }
            try await Task.sleep(for: .milliseconds(25))
        }
    }
}

/// Routes requests.
struct ServiceResponder: HTTPResponder {
    typealias Context = BasicRequestContext
    let service: UploadService
    let gatewayOnly: Bool

    func respond(to request: Request, context: Context) async throws -> Response {
        let path = request.uri.path
        let method = request.method
        if path.hasPrefix("/ipfs/") && (method == .get || method == .head) {
            if service.injectGatewayFault() { return fault() }
            let response = await GatewayHandler(service: service).respond(request, path: String(path.dropFirst(6)))
            // HEAD answers with the headers a GET would have, and no body.
            return method == .head ? Response(status: response.status, headers: response.headers) : response
        }
        if gatewayOnly { return text(.notFound, "not found") }
        if (method == .post && path == "/") || (method == .put && path.hasPrefix("/blob/")), service.injectFault() {
            // Drain the body first so that the client sees a clean 503 and not a reset connection.
            for try await _ in request.body {}
            return fault()
        }
        switch (method, path) {
        case (.post, "/"): return await agentMessage(request)
        case (.get, "/"), (.head, "/"):
            return json(.ok, ["did": .string(service.identity.did.string), "url": .string(service.baseURL)])
        case (.get, "/.well-known/did.json"): return didDocument()
        case (.get, "/validate-email"): return await validateEmail(request)
        default: break
        }
        if path.hasPrefix("/receipt/"), method == .get { return await receipt(String(path.dropFirst(9))) }
        if path.hasPrefix("/blob/") {
            let digest = String(path.dropFirst(6))
            if method == .put { return await put(request, digest: digest) }
            if method == .get || method == .head { return await getBlob(request, digest: digest) }
        }
        return text(.notFound, "not found")
    }

    /// An injected fault: the configured status, or a response cut off after a few bytes (a dropped connection).
    func fault() -> Response {
        guard service.configuration.faultDrops else {
            return text(HTTPResponse.Status(code: service.configuration.faultStatus), "injected fault (--fault-every)")
        }
        return Response(status: .ok, body: ResponseBody(contentLength: 1024) { writer in
            try await writer.write(ByteBuffer(string: "cut"))
            throw InjectedFault()
        })
    }

    struct InjectedFault: Error {}

    // MARK: ucanto

    func agentMessage(_ request: Request) async -> Response {
        let contentType = request.headers[.contentType]?.split(separator: ";").first?.trimmingCharacters(in: .whitespaces).lowercased()
        let accept = request.headers[.accept]?.lowercased()
        let legacyRequest = contentType == "application/car"
        guard contentType == AgentMessage.contentType || legacyRequest else {
            var h = HTTPFields()
            h[.accept] = "\(AgentMessage.contentType), application/car"
            return Response(status: .unsupportedMediaType, headers: h,
                            body: .init(byteBuffer: ByteBuffer(string: "The server cannot process the request payload format \(contentType ?? "(none)")")))
        }
        let wantsCAR: Bool
        if let accept, !accept.contains("*/*") {
            guard accept.contains(AgentMessage.contentType) || accept.contains("application/cbor") else {
                return text(.notAcceptable, "The requested resource cannot be served in the requested content type \(accept)")
            }
            wantsCAR = accept.contains(AgentMessage.contentType)
        } else {
            wantsCAR = false
        }
        let body: Data
        do { body = Data((try await request.body.collect(upTo: 64 << 20)).readableBytesView) } catch {
            return text(.contentTooLarge, "request body is too large")
        }
        let message: AgentMessage
        do {
            if legacyRequest {
                let (header, list) = try CARReader.readAll(body)
                var blocks: [CID: Block] = [:]
                for b in list { blocks[b.cid] = b }
                message = try AgentMessage.request(try header.roots.map { try Delegation(root: $0, blocks: blocks) })
            } else {
                message = try AgentMessage.decode(body)
            }
        } catch {
            return text(.badRequest, "Bad request: Malformed payload - \(error)")
        }
        do {
            let response = try await service.handle(message)
            if wantsCAR {
                var h = HTTPFields()
                h[.contentType] = AgentMessage.contentType
                return Response(status: .ok, headers: h, body: .init(byteBuffer: ByteBuffer(bytes: response.encode())))
            }
            // Legacy encoder: a CBOR array of results in invocation order.
            let results: [IPLDValue] = message.invocations.map { inv in
                switch response.receipt(for: inv.cid)?.out {
                case .ok(let v)?: return v
                case .error(var e)?:
                    if case .map(var m) = e { m["error"] = true; e = .map(m) }
                    return e
                case nil: return .null
                }
            }
            var h = HTTPFields()
            h[.contentType] = "application/cbor"
            return Response(status: .ok, headers: h, body: .init(byteBuffer: ByteBuffer(bytes: (try? DAGCBOR.encode(.list(results))) ?? [])))
        } catch {
            return text(.internalServerError, "Server error: \(error)")
        }
    }

    func receipt(_ task: String) async -> Response {
        guard let car = try? await service.receipts.car(for: task) else { return text(.notFound, "receipt for \(task) not found") }
        var h = HTTPFields()
        h[.contentType] = AgentMessage.contentType
        return Response(status: .ok, headers: h, body: .init(byteBuffer: ByteBuffer(bytes: car)))
    }

    func didDocument() -> Response {
        let did = service.identity.did.string
        let key = service.identity.key.did.string
        let doc: IPLDValue = [
            "@context": ["https://www.w3.org/ns/did/v1"], "id": .string(did),
            "verificationMethod": [["id": .string("\(did)#owner"), "type": "Ed25519VerificationKey2020", "controller": .string(did),
                                    "publicKeyMultibase": .string(String(key.dropFirst(8)))]],
            "authentication": [.string("\(did)#owner")], "assertionMethod": [.string("\(did)#owner")],
        ]
        return json(.ok, doc)
    }

    func validateEmail(_ request: Request) async -> Response {
        guard let ucan = request.uri.queryParameters.get("ucan"), let bytes = try? Base64URL.decode(Substring(ucan)),
              let confirm = try? Delegation.extract(Data(bytes)) else {
            return html(.badRequest, "<h1>Invalid link</h1><p>The confirmation link is malformed.</p>")
        }
        do {
            _ = try await service.confirmAuthorization(confirm)
            return html(.ok, "<h1>Email validated</h1><p>You may close this window; the agent is now logged in.</p>")
        } catch let f as Failure {
            return html(.badRequest, "<h1>Cannot confirm</h1><p>\(escape(f.message))</p>")
        } catch {
            return html(.internalServerError, "<h1>Cannot confirm</h1><p>\(escape("\(error)"))</p>")
        }
    }

    // MARK: Blobs

    func put(_ request: Request, digest: String) async -> Response {
        var query: [String: String] = [:]
        for (k, v) in request.uri.queryParameters { query[String(k)] = String(v) }
        var headers: [String: String] = [:]
        for field in request.headers { headers[field.name.canonicalName] = field.value }
        let body = request.body
        let (status, message) = await service.receivePut(digestText: digest, query: query, headers: headers) { writer in
            // Gathered into 1 MiB pieces, each written on the blocking-I/O pool.
            var pending = Data()
            for try await buffer in body {
                pending.append(contentsOf: buffer.readableBytesView)
                if pending.count >= 1 << 20 {
                    let piece = pending
                    pending = Data()
                    try await BlockingIO.run { try writer.write(piece) }
                }
            }
            if !pending.isEmpty {
                let piece = pending
                try await BlockingIO.run { try writer.write(piece) }
            }
        }
        return text(HTTPResponse.Status(code: status), message)
    }

    func getBlob(_ request: Request, digest name: String) async -> Response {
        guard let decoded = try? Multibase.decode(name), let digest = try? Multihash(bytes: decoded.bytes), let size = service.blobs.size(of: digest) else {
            return text(.notFound, "blob not found")
        }
        return fileResponse(request, size: size, contentType: "application/octet-stream", etag: "\"\(digest)\"") { range in
            try await service.blobs.readAsync(digest, range: range)
        }
    }
}

// MARK: Response helpers

func text(_ status: HTTPResponse.Status, _ message: String) -> Response {
    var h = HTTPFields()
    h[.contentType] = "text/plain; charset=utf-8"
    return Response(status: status, headers: h, body: .init(byteBuffer: ByteBuffer(string: message)))
}

func html(_ status: HTTPResponse.Status, _ body: String) -> Response {
    var h = HTTPFields()
    h[.contentType] = "text/html; charset=utf-8"
    let page = "<!doctype html><html><head><meta charset=\"utf-8\"><title>Storacha local</title></head><body>\(body)</body></html>"
    return Response(status: status, headers: h, body: .init(byteBuffer: ByteBuffer(string: page)))
}

func json(_ status: HTTPResponse.Status, _ value: IPLDValue) -> Response {
    var h = HTTPFields()
    h[.contentType] = "application/json"
    return Response(status: status, headers: h, body: .init(byteBuffer: ByteBuffer(bytes: (try? DAGJSON.encode(value)) ?? [])))
}

func escape(_ s: String) -> String {
    s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
        .replacingOccurrences(of: "\"", with: "&quot;")
}

/// A ranged response over something of known size, read in pieces of at most 1 MiB: 200, or 206 for a
/// satisfiable `Range`, 416 for an unsatisfiable one and 400 for a malformed one.
func fileResponse(_ request: Request, size: UInt64, contentType: String, etag: String,
                  read: @escaping @Sendable (Range<UInt64>) async throws -> Data) -> Response {
    var h = HTTPFields()
    h[.contentType] = contentType
    h[.acceptRanges] = "bytes"
    h[.eTag] = etag
    let range: ByteRange?
    do { range = try ByteRange.parse(request.headers[.range], size: size) } catch {
        switch error {
        case .malformed: return text(.badRequest, error.description)
        case .unsatisfiable:
            var r = text(.rangeNotSatisfiable, error.description)
            r.headers[.contentRange] = "bytes */\(size)"
            return r
        }
    }
    guard size <= UInt64(Int64.max) else { return text(.badGateway, "the content declares an impossible size (\(size) bytes)") }
    let span = range?.span ?? 0..<size
    let length = span.upperBound - span.lowerBound
    h[.contentLength] = String(length)
    var status = HTTPResponse.Status.ok
    if let range {
        status = .partialContent
        h[.contentRange] = range.contentRange(size: size)
    }
    if request.method == .head { return Response(status: status, headers: h) }
    let body = ResponseBody(contentLength: Int(length)) { writer in
        var at = span.lowerBound
        while at < span.upperBound {
            let n = min(span.upperBound - at, 1 << 20)
            try await writer.write(ByteBuffer(bytes: try await read(at..<(at + n))))
            at += n
        }
        try await writer.finish(nil)
    }
    return Response(status: status, headers: h, body: body)
}
