// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "cognate",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "cognate", targets: ["cognate"]),
        .library(name: "Storage", targets: ["Storage"]),
        .library(name: "AuthCrypto", targets: ["AuthCrypto"]),
        .library(name: "Raft", targets: ["Raft"]),
        .library(name: "Sharding", targets: ["Sharding"]),
        .library(name: "NodeRPC", targets: ["NodeRPC"]),
        .library(name: "Node", targets: ["Node"]),
        .library(name: "UserPool", targets: ["UserPool"]),
        .library(name: "Front", targets: ["Front"]),
        .library(name: "CognitoModel", targets: ["CognitoModel"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.0.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.0"),
        .package(url: "https://github.com/apple/swift-certificates", from: "1.21.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.0"),
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.0"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.1.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
    ],
    targets: [
        // System libraries from Debian (liblmdb-dev, libssl-dev), found through pkg-config.
        .systemLibrary(
            name: "CLMDB",
            pkgConfig: "lmdb",
            providers: [.apt(["liblmdb-dev"])]
        ),
        .systemLibrary(
            name: "CCrypto",
            pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev"])]
        ),
        .target(
            name: "Storage",
            dependencies: ["CLMDB"],
            exclude: ["README.md"]
        ),
        .target(
            name: "AuthCrypto",
            dependencies: [
                "CCrypto",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CryptoExtras", package: "swift-crypto"),
            ],
            exclude: ["README.md"]
        ),
        // The pure consensus core: imports nothing of ours, no I/O, no clock.
        .target(
            name: "Raft",
            exclude: ["README.md"]
        ),
        // Shard placement, the replicated state-machine protocol and key layout: what the
        // domain and the node agree on. Imports Storage only.
        .target(
            name: "Sharding",
            dependencies: ["Storage"],
            exclude: ["README.md"]
        ),
        // The wire between cluster processes: framing, client requests, the cluster
        // definition, mutual TLS, and the client fronts and tools use to reach the nodes.
        .target(
            name: "NodeRPC",
            dependencies: [
                "Raft",
                "Sharding",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "TOMLKit", package: "TOMLKit"),
            ],
            exclude: ["README.md"]
        ),
        // The storage node: multi-Raft on LMDB over mutual TLS.
        .target(
            name: "Node",
            dependencies: [
                "Raft",
                "Storage",
                "Sharding",
                "NodeRPC",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            exclude: ["README.md"]
        ),
        // Cognito's API as types, generated from the official service model
        // (scripts/generate-cognito-model.py): shapes, enums, operations, constraints.
        .target(
            name: "CognitoModel",
            exclude: ["README.md", "Generated/MODEL_VERSION"]
        ),
        // The user-pool domain: models, rules, commands and the shard state machine.
        .target(
            name: "UserPool",
            dependencies: [
                "Sharding", "Storage", "AuthCrypto", "CognitoModel",
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            exclude: ["README.md"]
        ),
        // The Cognito-compatible HTTP API.
        .target(
            name: "Front",
            dependencies: [
                "UserPool",
                "CognitoModel",
                "NodeRPC",
                "AuthCrypto",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CryptoExtras", package: "swift-crypto"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Mustache", package: "swift-mustache"),
            ],
            exclude: ["README.md"],
            resources: [.copy("Pages/Templates")]
        ),
        // The outbox's channels: SMTP, the SMS webhook, the local inbox; run by each node
        // for the shards it leads.
        .target(
            name: "Delivery",
            dependencies: [
                "UserPool", "CognitoModel", "AuthCrypto",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            exclude: ["README.md"]
        ),
        .target(
            name: "Ops",
            dependencies: [
                "Raft", "Storage", "AuthCrypto", "Sharding", "NodeRPC", "Node", "UserPool", "CognitoModel",
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ]
        ),
        .executableTarget(
            name: "cognate",
            dependencies: [
                "Storage",
                "AuthCrypto",
                "Ops",
                "Node",
                "NodeRPC",
                "Sharding",
                "UserPool",
                "Front",
                "Delivery",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        .testTarget(
            name: "RaftTests",
            dependencies: ["Raft"]
        ),
        // Test-only: records the process's file writes and syncs for power-loss tests.
        .target(name: "CFaultFS", path: "Tests/CFaultFS"),
        .testTarget(
            name: "NodeTests",
            dependencies: [
                "Node", "NodeRPC", "Sharding", "Raft", "Storage", "CFaultFS",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "UserPoolTests",
            dependencies: ["UserPool", "Sharding", "Storage", "AuthCrypto"]
        ),
        .testTarget(
            name: "FrontTests",
            dependencies: [
                "Front", "UserPool", "CognitoModel", "Sharding", "Storage", "AuthCrypto", "NodeRPC",
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        .testTarget(
            name: "DeliveryTests",
            dependencies: [
                "Delivery", "UserPool",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "OpsTests",
            dependencies: ["Ops", "Node", "NodeRPC", "Sharding"]
        ),
        .testTarget(
            name: "StorageTests",
            dependencies: ["Storage"]
        ),
        .testTarget(
            name: "AuthCryptoTests",
            dependencies: [
                "AuthCrypto", .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CryptoExtras", package: "swift-crypto"),
            ],
            resources: [.copy("Vectors")]
        ),
    ],
    swiftLanguageModes: [.v6]
)
