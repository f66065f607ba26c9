// swift-tools-version:6.0
import PackageDescription

// The libFuzzer driver for the targets of the StorachaFuzz library (../Sources/StorachaFuzz). Build and run one with
// `Fuzz/run TARGET [SECONDS]`, which passes `--sanitize=fuzzer --sanitize=address` to this package's build.
let package = Package(
    name: "storacha-fuzz",
    platforms: [.macOS(.v14)],
    dependencies: [.package(name: "swift-storacha", path: "..")],
    targets: [
        .executableTarget(
            name: "storacha-fuzz",
            dependencies: [.product(name: "StorachaFuzz", package: "swift-storacha")],
            // libFuzzer provides `main`.
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]
        ),
    ]
)
