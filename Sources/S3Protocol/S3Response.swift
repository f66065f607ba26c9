/// An answer to an S3 request, independent of the HTTP server that sends it.
public struct S3Response: Sendable {
    /// What the body is.
    public enum Body: Sendable {
        case empty
        case bytes([UInt8])
        case stream(S3ByteStream, length: UInt64)
    }

    /// The HTTP status.
    public var status: Int
    /// Header fields.
    public var headers: [(name: String, value: String)]
    /// The body.
    public var body: Body

    /// A response.
    public init(status: Int, headers: [(name: String, value: String)] = [], body: Body = .empty) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// An XML body.
    static func xml(_ bytes: [UInt8], status: Int = 200) -> S3Response {
        S3Response(status: status, headers: [("Content-Type", "application/xml")], body: .bytes(bytes))
    }
}
