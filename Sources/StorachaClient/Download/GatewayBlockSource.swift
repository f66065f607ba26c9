import Foundation
import IPLD
import Multiformats
import NIOCore
import NIOHTTP1

/// Blocks fetched from a trustless gateway (`GET /ipfs/<cid>?format=raw`), each
/// verified against its CID before it is used, so a gateway cannot alter content.
public struct GatewayBlockSource: BlockSource {
    /// Gateway base URL, e.g. `http://127.0.0.1:8787` or `https://storacha.link`.
    public let url: String
    let connection: ServiceConnection
    /// Largest block accepted from a gateway (IPFS blocks are at most a few MiB).
    public static let maxBlockSize = 8 << 20

    /// Reads from the gateway at `url`, giving up on a request after `timeout` and retrying as `retry` says.
    public init(url: String, timeout: TimeAmount = .seconds(120), retry: RetryPolicy = RetryPolicy()) {
        self.url = url.hasSuffix("/") ? String(url.dropLast()) : url
        var connection = ServiceConnection(url: self.url, did: "did:web:gateway.invalid")
        connection.timeout = timeout
        connection.retry = retry
        self.connection = connection
    }

    /// The block, with transient failures (network errors, 5xx, 429) retried as the connection's
    /// ``RetryPolicy`` says.
    public func block(_ cid: CID) async throws -> Data {
        try await connection.retry.run {
            let r = try await connection.request(.GET, "/ipfs/\(cid)?format=raw", headers: ["accept": "application/vnd.ipld.raw"],
                                                 maxResponse: GatewayBlockSource.maxBlockSize)
            switch r.status {
            case 200: break
            case 404: throw ClientError.http(status: 404, message: "the gateway does not have block \(cid)")
            default: throw ClientError.http(status: r.status, message: String(decoding: r.body.prefix(512), as: UTF8.self))
            }
            guard cid.multihash.verifies(r.body) else {
                throw ClientError.protocolViolation("the gateway returned bytes that do not match \(cid)")
            }
            return r.body
        }
    }
}
