import Foundation

/// An S3 error as clients expect it: an error code from S3's list, the HTTP status it travels with and a
/// message for people. It knows nothing of what is behind the gateway.
public struct S3Error: Error, Sendable, Equatable, CustomStringConvertible {
    /// S3's error code, e.g. `NoSuchKey` or `SignatureDoesNotMatch`.
    public var code: String
    /// The HTTP status.
    public var status: Int
    /// What went wrong, for people.
    public var message: String

    /// An error with its code, status and message.
    public init(_ code: String, status: Int, _ message: String) {
        self.code = code
        self.status = status
        self.message = message
    }

    public var description: String { "\(code): \(message)" }
}

extension S3Error {
    static func accessDenied(_ message: String) -> S3Error { S3Error("AccessDenied", status: 403, message) }
    static func signatureDoesNotMatch(_ message: String) -> S3Error { S3Error("SignatureDoesNotMatch", status: 403, message) }
    static func invalidAccessKeyId(_ key: String) -> S3Error {
        S3Error("InvalidAccessKeyId", status: 403, "The AWS access key Id \(key) does not exist in our records.")
    }
    static func authorizationHeaderMalformed(_ message: String) -> S3Error { S3Error("AuthorizationHeaderMalformed", status: 400, message) }
    static func authorizationQueryParametersError(_ message: String) -> S3Error {
        S3Error("AuthorizationQueryParametersError", status: 400, message)
    }
    static func requestTimeTooSkewed() -> S3Error {
        S3Error("RequestTimeTooSkewed", status: 403, "The difference between the request time and the server's time is too large.")
    }
    static func contentSHA256Mismatch() -> S3Error {
        S3Error("XAmzContentSHA256Mismatch", status: 400, "The provided 'x-amz-content-sha256' header does not match what was computed.")
    }
    static func incompleteBody(_ message: String) -> S3Error { S3Error("IncompleteBody", status: 400, message) }
    static func invalidRequest(_ message: String) -> S3Error { S3Error("InvalidRequest", status: 400, message) }
    static func notImplemented(_ message: String) -> S3Error { S3Error("NotImplemented", status: 501, message) }
}
