import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import IPLD
import Multiformats
import UCAN
import Ucanto

/// A connection to a Storacha service: ucanto agent messages over HTTP (`POST /`), receipts
/// (`GET /receipt/<task>`), and plain HTTP for blob PUTs and gateway reads.
public struct ServiceConnection: Sendable {
    /// Service base URL.
    public let url: String
    /// Service DID (the audience of invocations).
    public let did: DID
    /// Base URL of receipts (`<receiptsURL><task CID>`).
    public let receiptsURL: String
    /// Request timeout.
    public var timeout: TimeAmount = .seconds(120)
    /// How agent messages, receipts and blob PUTs are retried.
    public var retry = RetryPolicy()

    /// Connects to `url` whose identity is `did`; receipts are read from `receiptsURL` (default
    /// `<url>/receipt/`).
    public init(url: String, did: DID, receiptsURL: String? = nil) {
        self.url = url.hasSuffix("/") ? String(url.dropLast()) : url
        self.did = did
        self.receiptsURL = receiptsURL ?? (url.hasSuffix("/") ? String(url.dropLast()) : url) + "/receipt/"
    }

    /// An HTTP response.
    public struct HTTPResult: Sendable {
        /// Status code.
        public let status: Int
        /// Headers, lower-cased names.
        public let headers: [String: String]
        /// Body.
        public let body: Data
    }

    /// Largest response body read by default: agent messages and receipts are small, and a bound keeps
    /// a misbehaving server from filling memory.
    public static let defaultMaxResponse = 32 << 20

    /// One HTTP request; `target` is a path on the service or an absolute URL.
    public func request(_ method: HTTPMethod, _ target: String, headers: [String: String] = [:], body: Data? = nil,
                        maxResponse: Int = ServiceConnection.defaultMaxResponse) async throws -> HTTPResult {
        try await request(method, target, headers: headers, streaming: body.map { .bytes(ByteBuffer(bytes: $0)) }, maxResponse: maxResponse)
    }

    /// One HTTP request whose body is streamed (for example from a file).
    public func request(_ method: HTTPMethod, _ target: String, headers: [String: String] = [:], streaming body: HTTPClientRequest.Body?,
                        maxResponse: Int = ServiceConnection.defaultMaxResponse) async throws -> HTTPResult {
        let address = target.hasPrefix("http") ? target : url + target
        var req = HTTPClientRequest(url: address)
        req.method = method
        for (k, v) in headers { req.headers.add(name: k, value: v) }
        if let body { req.body = body }
        let resp: HTTPClientResponse
        do { resp = try await HTTPTransport.client.execute(req, timeout: timeout) } catch {
            throw ClientError.network("\(method) \(address): \(error)")
        }
        let bytes: ByteBuffer
        do { bytes = try await resp.body.collect(upTo: maxResponse) } catch is NIOTooManyBytesError {
            throw ClientError.protocolViolation("\(method) \(target): the response is larger than \(maxResponse) bytes")
        } catch {
            throw ClientError.network("\(method) \(target): \(error)")
        }
        var h: [String: String] = [:]
        for header in resp.headers { h[header.name.lowercased()] = header.value }
        return HTTPResult(status: Int(resp.status.code), headers: h, body: Data(bytes.readableBytesView))
    }

    /// Sends invocations in one agent message and returns the response message.
    public func send(_ invocations: [Delegation]) async throws -> AgentMessage {
        let body = try AgentMessage.request(invocations).encode()
        let headers = ["content-type": AgentMessage.contentType, "accept": AgentMessage.contentType]
        let r = try await retry.run {
            let r = try await request(.POST, "/", headers: headers, body: body)
            guard r.status == 200 else { throw ClientError.http(status: r.status, message: String(decoding: r.body.prefix(4096), as: UTF8.self)) }
            return r
        }
        return try AgentMessage.decode(r.body)
    }

    /// Sends one invocation and returns its receipt.
    public func invoke(_ invocation: Delegation) async throws -> Receipt {
        let message = try await send([invocation])
        guard let receipt = message.receipt(for: invocation.cid) else { throw ClientError.missingReceipt(invocation.cid.description) }
        return receipt
    }

    /// `GET /receipt/<task>`: the receipt, or nil while it is not available.
    public func receipt(for task: CID) async throws -> Receipt? {
        let r = try await retry.run {
            let r = try await request(.GET, receiptsURL + task.description)
            if r.status >= 500 { throw ClientError.http(status: r.status, message: String(decoding: r.body.prefix(1024), as: UTF8.self)) }
            return r
        }
        guard r.status == 200 else { return nil }
        return try AgentMessage.decode(r.body).receipt(for: task)
    }
}

/// Client-side failures, as one line each.
public enum ClientError: Error, Equatable, Sendable, CustomStringConvertible {
    case network(String)
    case http(status: Int, message: String)
    case missingReceipt(String)
    case failed(capability: String, name: String, message: String)
    case protocolViolation(String)

    public var description: String {
        switch self {
        case .network(let m): return "network error: \(m)"
        case .http(let s, let m): return "the service answered HTTP \(s): \(m)"
        case .missingReceipt(let c): return "the service returned no receipt for \(c)"
        case .failed(let c, let n, let m): return "\(c) failed: \(n): \(m)"
        case .protocolViolation(let m): return "unexpected service response: \(m)"
        }
    }
}

extension Receipt {
    /// The `ok` value, or a ``ClientError/failed(capability:name:message:)``.
    public func requireOK(_ capability: String) throws -> IPLDValue {
        switch out {
        case .ok(let v): return v
        case .error: throw ClientError.failed(capability: capability, name: out.errorName ?? "Error", message: out.errorMessage ?? "")
        }
    }
}
