import Foundation
import UCAN

/// How a local service runs.
public struct ServiceConfiguration: Sendable {
    /// Where the database, blobs, key and emails live.
    public var dataDirectory: URL
    /// Address to bind.
    public var host: String
    /// Port (0 picks a free one).
    public var port: Int
    /// An extra port serving only the gateway (nil: the gateway is on the main port only).
    public var gatewayPort: Int?
    /// The service DID.
    public var did: DID
    /// Confirm login emails immediately (tests).
    public var autoConfirm: Bool
    /// Lifetime of blob PUT URLs, in seconds.
    public var putURLLifetime: Int
    /// Default page size for list capabilities.
    public var defaultPageSize: Int
    /// Testing: answer every Nth agent message and blob PUT with 503 (nil: never).
    public var faultEvery: Int?
    /// Testing: the HTTP status of injected faults.
    public var faultStatus: Int = 503
    /// Check each `filecoin/offer` against the stored bytes (stricter than production, which checks
    /// pieces later, off the upload path).
    public var verifyPieces = true
    /// Testing: fail every Nth gateway (`/ipfs/`) GET as well (nil: never).
    public var gatewayFaultEvery: Int?
    /// Testing: injected faults drop the connection in the middle of the response instead of answering.
    public var faultDrops = false

    /// The default local identity.
    public static let defaultDID: DID = "did:web:localhost"

    /// Creates a configuration.
    public init(dataDirectory: URL, host: String = "127.0.0.1", port: Int = 0, gatewayPort: Int? = nil, did: DID = ServiceConfiguration.defaultDID,
                autoConfirm: Bool = false, putURLLifetime: Int = 3600, defaultPageSize: Int = 20) {
        self.dataDirectory = dataDirectory
        self.host = host
        self.port = port
        self.gatewayPort = gatewayPort
        self.did = did
        self.autoConfirm = autoConfirm
        self.putURLLifetime = putURLLifetime
        self.defaultPageSize = defaultPageSize
        self.faultEvery = nil
    }
}
