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
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.0.0"),
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
            ],
            exclude: ["README.md"]
        ),
        // The pure consensus core: imports nothing of ours, no I/O, no clock.
        .target(
            name: "Raft",
            exclude: ["README.md"]
        ),
        .target(
            name: "Ops",
            dependencies: ["Storage", "AuthCrypto"]
        ),
        .executableTarget(
            name: "cognate",
            dependencies: [
                "Storage",
                "AuthCrypto",
                "Ops",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(
            name: "RaftTests",
            dependencies: ["Raft"]
        ),
        .testTarget(
            name: "StorageTests",
            dependencies: ["Storage"]
        ),
        .testTarget(
            name: "AuthCryptoTests",
            dependencies: ["AuthCrypto"],
            resources: [.copy("Vectors")]
        ),
    ],
    swiftLanguageModes: [.v6]
)
