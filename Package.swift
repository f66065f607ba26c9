// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "swift-storacha",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "storacha", targets: ["StorachaCLI"]),
        .library(name: "Multiformats", targets: ["Multiformats"]),
        .library(name: "IPLD", targets: ["IPLD"]),
        .library(name: "CAR", targets: ["CAR"]),
        .library(name: "UnixFS", targets: ["UnixFS"]),
        .library(name: "UCAN", targets: ["UCAN"]),
        .library(name: "Ucanto", targets: ["Ucanto"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
    ],
    targets: [
        .target(
            name: "Multiformats",
            dependencies: [.product(name: "Crypto", package: "swift-crypto")]
        ),
        .target(name: "IPLD", dependencies: ["Multiformats"]),
        .target(name: "CAR", dependencies: ["Multiformats", "IPLD", .product(name: "Crypto", package: "swift-crypto")]),
        .target(name: "UnixFS", dependencies: ["Multiformats", "IPLD", "CAR", .product(name: "Crypto", package: "swift-crypto")]),
        .target(name: "UCAN", dependencies: ["Multiformats", "IPLD", "CAR", .product(name: "Crypto", package: "swift-crypto")]),
        .target(name: "Ucanto", dependencies: ["Multiformats", "IPLD", "CAR", "UCAN"]),
        .executableTarget(
            name: "StorachaCLI",
            dependencies: [
                "Multiformats", "IPLD", "CAR", "UnixFS", "UCAN", "Ucanto",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(name: "MultiformatsTests", dependencies: ["Multiformats"]),
        .testTarget(name: "IPLDTests", dependencies: ["IPLD", "Multiformats"]),
        .testTarget(name: "CARTests", dependencies: ["CAR", "IPLD", "Multiformats"]),
        .testTarget(name: "UnixFSTests", dependencies: ["UnixFS", "CAR", "IPLD", "Multiformats", "TestSupport", .product(name: "Crypto", package: "swift-crypto")]),
        .target(name: "TestSupport", dependencies: ["UCAN", "IPLD", "Multiformats", .product(name: "Crypto", package: "swift-crypto")], path: "Tests/Support"),
        .testTarget(name: "UCANTests", dependencies: ["UCAN", "CAR", "IPLD", "Multiformats", "TestSupport"]),
        .testTarget(name: "UcantoTests", dependencies: ["Ucanto", "UCAN", "CAR", "IPLD", "Multiformats", "TestSupport"]),
        .testTarget(name: "StorachaCLITests", dependencies: ["StorachaCLI", "UnixFS", "CAR", "Multiformats"]),
    ]
)
