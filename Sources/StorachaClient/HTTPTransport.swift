import AsyncHTTPClient
import NIOCore

/// The HTTP client every connection shares. Unlike `HTTPClient.shared` (browser-like: 90 s connect
/// timeout, connections retried until the deadline) a refused or unreachable service fails in
/// seconds, so that a wrong URL is an error at once and not a 90-second hang.
enum HTTPTransport {
    static let client: HTTPClient = {
        var configuration = HTTPClient.Configuration(
            redirectConfiguration: .follow(max: 10, allowCycles: false),
            timeout: HTTPClient.Configuration.Timeout(connect: .seconds(10), read: .seconds(120)),
            decompression: .disabled)
        configuration.connectionPool.retryConnectionEstablishment = false
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }()
}
