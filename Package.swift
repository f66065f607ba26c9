// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "swift-storacha",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "storacha", targets: ["StorachaCLI"]),
        .library(name: "SystemIO", targets: ["SystemIO"]),
        .library(name: "Multiformats", targets: ["Multiformats"]),
        .library(name: "IPLD", targets: ["IPLD"]),
        .library(name: "CAR", targets: ["CAR"]),
        .library(name: "UnixFS", targets: ["UnixFS"]),
        .library(name: "UCAN", targets: ["UCAN"]),
        .library(name: "Ucanto", targets: ["Ucanto"]),
        .library(name: "LocalService", targets: ["LocalService"]),
        .library(name: "StorachaClient", targets: ["StorachaClient"]),
        .library(name: "Piece", targets: ["Piece"]),
        .library(name: "S3Protocol", targets: ["S3Protocol"]),
        .library(name: "StorachaFuzz", targets: ["StorachaFuzz"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/CoreOffice/XMLCoder.git", from: "0.18.2"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-collections.git", from: "1.1.0"),
    ],
    targets: [
        .target(name: "StorachaBuildInfo"),
        .target(name: "CivilTime"),
        .target(name: "SystemIO", dependencies: [.product(name: "NIOPosix", package: "swift-nio")]),
        .target(
            name: "Multiformats",
            dependencies: [.product(name: "Crypto", package: "swift-crypto")]
        ),
        .target(name: "IPLD", dependencies: ["Multiformats"]),
        .target(name: "CPieceTree"),
        .target(name: "S3Protocol", dependencies: [
            "CivilTime", .product(name: "Crypto", package: "swift-crypto"), .product(name: "XMLCoder", package: "XMLCoder"),
        ]),
        .target(name: "Piece", dependencies: ["Multiformats", "CPieceTree"]),
        .target(name: "CAR", dependencies: ["SystemIO", "Multiformats", "IPLD", .product(name: "Crypto", package: "swift-crypto")]),
        .target(name: "UnixFS", dependencies: ["Multiformats", "IPLD", "CAR", "Piece", .product(name: "Crypto", package: "swift-crypto")]),
        .target(name: "UCAN", dependencies: ["Multiformats", "IPLD", "CAR", .product(name: "Crypto", package: "swift-crypto")]),
        .target(name: "Ucanto", dependencies: ["CivilTime", "Multiformats", "IPLD", "CAR", "UCAN"]),
        .target(
            name: "LocalService",
            dependencies: [
                "CivilTime", "SystemIO", "Multiformats", "IPLD", "CAR", "UnixFS", "UCAN", "Ucanto", "Piece",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "StorachaClient",
            dependencies: [
                "CivilTime", "SystemIO", "Multiformats", "IPLD", "CAR", "UnixFS", "UCAN", "Ucanto", "Piece",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        .target(
            name: "S3Gateway",
            dependencies: [
                "S3Protocol", "StorachaClient", "SystemIO", "Multiformats", "IPLD", "CAR", "UnixFS",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The fuzz targets (built with libFuzzer by Fuzz/run; their corpora also run in the test suite).
        .target(name: "StorachaFuzz", dependencies: ["Multiformats", "IPLD", "CAR", "UnixFS", "UCAN", "Ucanto", "StorachaClient", "S3Protocol"]),
        .executableTarget(
            name: "StorachaCLI",
            dependencies: [
                "SystemIO", "Multiformats", "IPLD", "CAR", "UnixFS", "UCAN", "Ucanto", "LocalService", "StorachaClient", "S3Protocol", "S3Gateway",
                "StorachaBuildInfo", "CivilTime",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(name: "CivilTimeTests", dependencies: ["CivilTime"]),
        .testTarget(name: "MultiformatsTests", dependencies: ["Multiformats"]),
        .testTarget(name: "IPLDTests", dependencies: ["IPLD", "Multiformats"]),
        .testTarget(name: "CARTests", dependencies: ["CAR", "IPLD", "Multiformats"]),
        .testTarget(name: "UnixFSTests", dependencies: ["UnixFS", "CAR", "IPLD", "Multiformats", "Piece", "TestSupport", .product(name: "Crypto", package: "swift-crypto")]),
        .target(name: "TestSupport", dependencies: ["UCAN", "IPLD", "Multiformats", .product(name: "Crypto", package: "swift-crypto")], path: "Tests/Support"),
        .testTarget(name: "UCANTests", dependencies: ["UCAN", "CAR", "IPLD", "Multiformats", "TestSupport"]),
        .testTarget(name: "UcantoTests", dependencies: ["Ucanto", "UCAN", "CAR", "IPLD", "Multiformats", "TestSupport"]),
        .testTarget(name: "LocalServiceTests", dependencies: [
            "LocalService", "StorachaClient", "UCAN", "Ucanto", "UnixFS", "CAR", "IPLD", "Multiformats", "TestSupport", "StorachaCLI",
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "GRDB", package: "GRDB.swift"),
        ]),
        .testTarget(name: "S3ProtocolTests", dependencies: ["S3Protocol"]),
        .testTarget(name: "SystemIOTests", dependencies: ["SystemIO", "TestSupport"]),
        .testTarget(name: "S3GatewayTests", dependencies: [
            "StorachaCLI", "S3Gateway", "S3Protocol", "SystemIO", "Multiformats", "IPLD", "UnixFS", "TestSupport",
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "GRDB", package: "GRDB.swift"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .testTarget(name: "StorachaFuzzTests", dependencies: ["StorachaFuzz", "TestSupport"]),
        .testTarget(name: "PieceTests", dependencies: ["Piece", "Multiformats", "TestSupport", .product(name: "Crypto", package: "swift-crypto")]),
        .testTarget(name: "StorachaClientTests", dependencies: ["StorachaClient", "UCAN", "Ucanto", "IPLD", "Multiformats", "TestSupport"]),
        .testTarget(name: "StorachaCLITests", dependencies: ["StorachaCLI", "UnixFS", "CAR", "Multiformats", "TestSupport"]),
    ]
)
