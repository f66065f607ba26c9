import Foundation
import UCAN

/// The services an agent talks to: the upload service (ucanto `POST /`), its receipts, the gateway
/// that is authorized to serve a space's content, and the public gateway printed for uploads.
public struct Network: Sendable, Equatable {
    /// A short name: `production`, `local` or `custom`.
    public var name: String
    /// The upload service DID (audience of invocations, provider in `provider/add`).
    public var serviceDID: DID
    /// The upload service URL.
    public var serviceURL: String
    /// Base URL of receipts (`<receiptsURL><task CID>`).
    public var receiptsURL: String
    /// The gateway's UCAN service that receives `space/content/serve/*` authorizations.
    public var gatewayDID: DID
    /// Its URL.
    public var gatewayURL: String
    /// The public gateway used in printed links (`<publicGateway>/ipfs/<cid>`).
    public var publicGateway: String

    /// Creates a network description.
    public init(name: String, serviceDID: DID, serviceURL: String, receiptsURL: String? = nil, gatewayDID: DID, gatewayURL: String,
                publicGateway: String) {
        self.name = name
        self.serviceDID = serviceDID
        self.serviceURL = Network.trimmed(serviceURL)
        self.receiptsURL = receiptsURL ?? Network.trimmed(serviceURL) + "/receipt/"
        self.gatewayDID = gatewayDID
        self.gatewayURL = Network.trimmed(gatewayURL)
        self.publicGateway = Network.trimmed(publicGateway)
    }

    /// The production Storacha network (the official CLI's defaults).
    public static let production = Network(
        name: "production", serviceDID: "did:web:up.storacha.network", serviceURL: "https://up.storacha.network",
        receiptsURL: "https://up.storacha.network/receipt/", gatewayDID: "did:web:w3s.link",
        gatewayURL: "https://gateway.storacha.network", publicGateway: "https://storacha.link")

    /// A local service at `url` with identity `did`: it is its own gateway.
    public static func local(url: String, did: DID) -> Network {
        Network(name: "local", serviceDID: did, serviceURL: url, gatewayDID: did, gatewayURL: url, publicGateway: url)
    }

    /// The network the official CLI would use with `environment`: production, unless both
    /// `STORACHA_SERVICE_DID` and `STORACHA_SERVICE_URL` are set; `STORACHA_RECEIPTS_URL` overrides
    /// the receipts endpoint. The gateway connection is not changed by these variables.
    public static func fromEnvironment(_ environment: [String: String]) throws(NetworkError) -> Network {
        var network = Network.production
        let did = environment["STORACHA_SERVICE_DID"].flatMap { $0.isEmpty ? nil : $0 }
        let url = environment["STORACHA_SERVICE_URL"].flatMap { $0.isEmpty ? nil : $0 }
        if let did, let url {
            guard let parsed = try? DID(did) else { throw NetworkError("STORACHA_SERVICE_DID is not a DID: \(did)") }
            guard Network.isHTTP(url) else { throw NetworkError("STORACHA_SERVICE_URL is not an http(s) URL: \(url)") }
            network.name = "custom"
            network.serviceDID = parsed
            network.serviceURL = trimmed(url)
            network.receiptsURL = trimmed(url) + "/receipt/"
        } else if (did == nil) != (url == nil) {
            throw NetworkError("set both STORACHA_SERVICE_DID and STORACHA_SERVICE_URL, or neither")
        }
        if let receipts = environment["STORACHA_RECEIPTS_URL"], !receipts.isEmpty {
            guard Network.isHTTP(receipts) else { throw NetworkError("STORACHA_RECEIPTS_URL is not an http(s) URL: \(receipts)") }
            network.receiptsURL = receipts.hasSuffix("/") ? receipts : receipts + "/"
        }
        return network
    }

    /// The connection to the upload service.
    public var connection: ServiceConnection { ServiceConnection(url: serviceURL, did: serviceDID, receiptsURL: receiptsURL) }

    /// The connection to the gateway's UCAN service.
    public var gatewayConnection: ServiceConnection { ServiceConnection(url: gatewayURL, did: gatewayDID) }

    /// The public link of `cid`.
    public func link(_ cid: String) -> String { "\(publicGateway)/ipfs/\(cid)" }

    static func trimmed(_ url: String) -> String { url.hasSuffix("/") ? String(url.dropLast()) : url }

    static func isHTTP(_ url: String) -> Bool {
        guard let parsed = URL(string: url), let scheme = parsed.scheme?.lowercased(), parsed.host != nil else { return false }
        return scheme == "http" || scheme == "https"
    }
}

/// A network setting that cannot be used, and why.
public struct NetworkError: Error, CustomStringConvertible, Sendable {
    /// What is wrong.
    public let description: String
    init(_ description: String) { self.description = description }
}
