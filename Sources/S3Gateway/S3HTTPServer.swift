import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import S3Protocol
import ServiceLifecycle
import UnixSignals

/// Serves an ``S3Handler`` over HTTP with Hummingbird: requests become ``S3RequestHead``s with their body
/// streamed, responses are written as they come (object bodies are never gathered in memory).
public enum S3HTTPServer {
    /// A running server.
    public struct Running: Sendable {
        /// Its base URL, e.g. `http://127.0.0.1:8014`.
        public let url: String
        let task: Task<Void, Error>
        let group: ServiceGroup

        /// Stops the server.
        public func stop() async {
            await group.triggerGracefulShutdown()
            _ = try? await task.value
        }

        /// Waits until the server stops.
        public func wait() async throws { try await task.value }
    }

    /// Starts serving `handler` on `host:port` (0: a free port) and returns once listening; with `stopOnSignals`,
    /// SIGTERM and SIGINT stop it gracefully (``Running/wait()`` then returns).
    public static func start(_ handler: S3Handler, host: String, port: Int, stopOnSignals: Bool = false, logger: Logger) async throws
        -> Running {
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        let app = Application(responder: Responder(handler: handler),
                              server: .http1(additionalChannelHandlers: [ExpectContinueHandler()]),
                              configuration: .init(address: .hostname(host, port: port), serverName: "storacha-s3"),
                              onServerRunning: { channel in continuation.yield(channel.localAddress?.port ?? 0) },
                              logger: logger)
        let group = ServiceGroup(configuration: .init(services: [app], gracefulShutdownSignals: stopOnSignals ? [.sigterm, .sigint] : [],
                                                      logger: logger))
        let task = Task { try await group.run() }
        var bound = 0
        for await p in ports { bound = p; break }
        let displayHost = host.contains(":") ? "[\(host)]" : host
        return Running(url: "http://\(displayHost):\(bound)", task: task, group: group)
    }

    struct Responder: HTTPResponder {
        typealias Context = BasicRequestContext
        let handler: S3Handler

        func respond(to request: Request, context: Context) async throws -> Response {
            var headers: [(name: String, value: String)] = []
            // HTTPTypes keeps the Host header as the request's authority.
            if let authority = request.head.authority { headers.append((name: "host", value: authority)) }
            for field in request.headers { headers.append((name: field.name.canonicalName, value: field.value)) }
            let head = S3RequestHead(method: request.method.rawValue, rawPath: request.uri.path, rawQuery: request.uri.query ?? "",
                                     headers: headers)
            let body = BodyStream(request.body)
            let answer = await handler.handle(head, body: body.stream)
            var fields = HTTPFields()
            // A body the handler did not read (an error before it) would be parsed as the next request on
            // this connection: read what is left, or close the connection when that is too much.
            if await !body.drain(upTo: 8 << 20) { fields[.connection] = "close" }
            for (name, value) in answer.headers {
                if let field = HTTPField.Name(name) { fields.append(HTTPField(name: field, value: value)) }
            }
            let status = HTTPResponse.Status(code: answer.status)
            switch answer.body {
            case .empty:
                return Response(status: status, headers: fields)
            case .bytes(let bytes):
                return Response(status: status, headers: fields, body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
            case .stream(let stream, let length):
                if request.method == .head { return Response(status: status, headers: fields) }
                fields[.contentLength] = nil
                return Response(status: status, headers: fields, body: ResponseBody(contentLength: Int(length)) { writer in
                    for try await chunk in stream { try await writer.write(ByteBuffer(bytes: chunk)) }
                    try await writer.finish(nil)
                })
            }
        }
    }

    /// A request body as an ``S3ByteStream`` (read on demand: back-pressure reaches the socket).
    final class BodyStream: @unchecked Sendable {
        private var iterator: RequestBody.AsyncIterator
        private let lock = NSLock()

        init(_ body: RequestBody) { iterator = body.makeAsyncIterator() }

        /// Reads and drops what is left of the body, up to `limit` bytes; false when more is left (or it failed).
        func drain(upTo limit: Int) async -> Bool {
            var it = lock.withLock { iterator }
            defer { lock.withLock { iterator = it } }
            var seen = 0
            do {
                while let buffer = try await it.next() {
                    seen += buffer.readableBytes
                    if seen > limit { return false }
                }
                return true
            } catch {
                return false
            }
        }

        var stream: S3ByteStream {
            S3ByteStream(unfolding: { [self] in
                var it = lock.withLock { iterator }
                let next = try await it.next()
                lock.withLock { iterator = it }
                return next.map { Array($0.readableBytesView) }
            })
        }
    }
}
