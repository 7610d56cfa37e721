// swift-tools-version: 6.1
// Coverage-guided fuzz targets (libFuzzer) for what the network and the disk hand Cognate.
// Built apart from the main package, with the fuzzer's instrumentation:
//   scripts/fuzz [SECONDS] [TARGET...]      (see README: Fuzzing)
import PackageDescription

let package = Package(
    name: "cognate-fuzz",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(name: "cognate", path: ".."),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.0"),
    ],
    targets: [
        .executableTarget(
            name: "CognateFuzz",
            dependencies: [
                .product(name: "NodeRPC", package: "cognate"),
                .product(name: "Node", package: "cognate"),
                .product(name: "Front", package: "cognate"),
                .product(name: "UserPool", package: "cognate"),
                .product(name: "CognitoModel", package: "cognate"),
                .product(name: "AuthCrypto", package: "cognate"),
                .product(name: "Raft", package: "cognate"),
                .product(name: "Storage", package: "cognate"),
                .product(name: "Sharding", package: "cognate"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ],
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]
        )
    ],
    swiftLanguageModes: [.v6]
)
