// swift-tools-version:6.0
import PackageDescription

/// Release builds drop exclusivity checks in the numeric hot loops.
let fastMath: [SwiftSetting] = [
    .unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))
]

let package = Package(
    name: "focus",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "focus", targets: ["focus"]),
        .executable(name: "focus-bench", targets: ["FocusBench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
    ],
    targets: [
        // MARK: C libraries (pkg-config names sqlite3, liblz4, openblas)
        .systemLibrary(
            name: "CSQLite", pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(
            name: "CLZ4", pkgConfig: "liblz4",
            providers: [.apt(["liblz4-dev"])]),
        .systemLibrary(
            name: "COpenBLAS", pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]),

        // MARK: The math and the model: tensors, safetensors, configs, forward pass
        .target(name: "FocusModel", dependencies: ["COpenBLAS"], swiftSettings: fastMath),
        // MARK: Byte-level BPE tokenizers and chat templates
        .target(name: "FocusTokenizer", swiftSettings: fastMath),
        // MARK: Diffusion decoders: vanilla, cached (Fast-dLLM), Focus sparse attention
        .target(name: "FocusDecoding", dependencies: ["FocusModel"], swiftSettings: fastMath),
        // MARK: SHA-256 and xxHash64
        .target(name: "FocusHashing", swiftSettings: fastMath),
        // MARK: Document store: compressed KV blocks, representative keys, sinks on disk
        .target(name: "FocusStore", dependencies: ["FocusHashing", "FocusModel", "CLZ4"], swiftSettings: fastMath),
        // MARK: SQLite connections, statements, rows and errors
        .target(name: "FocusSQLite", dependencies: ["CSQLite"]),
        // MARK: The job queue on SQLite: documents, jobs, leases, workers, results, metrics
        .target(
            name: "FocusQueue",
            dependencies: ["FocusSQLite", .product(name: "Logging", package: "swift-log")]),
        // MARK: The engine: model + tokenizer + store + decoders answering one question
        .target(
            name: "FocusEngine",
            dependencies: ["FocusHashing", "FocusModel", "FocusTokenizer", "FocusDecoding", "FocusStore"],
            swiftSettings: fastMath),
        // MARK: The worker's processor: queued jobs answered by the engine
        .target(
            name: "FocusWorker", dependencies: ["FocusHashing", "FocusDecoding", "FocusStore", "FocusEngine", "FocusQueue"]),
        // MARK: Command line
        .executableTarget(
            name: "focus",
            dependencies: [
                "FocusHashing", "FocusModel", "FocusTokenizer", "FocusDecoding", "FocusStore", "FocusEngine",
                "FocusSQLite", "FocusQueue", "FocusWorker",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]),
        .executableTarget(
            name: "FocusBench",
            dependencies: [
                "COpenBLAS", "FocusModel", "FocusTokenizer", "FocusDecoding", "FocusStore", "FocusEngine", "FocusQueue",
            ],
            swiftSettings: fastMath),

        // MARK: Tests
        .testTarget(name: "FocusModelTests", dependencies: ["FocusModel"]),
        .testTarget(name: "FocusTokenizerTests", dependencies: ["FocusTokenizer"]),
        .testTarget(name: "FocusDecodingTests", dependencies: ["FocusModel", "FocusDecoding"]),
        .testTarget(name: "FocusHashingTests", dependencies: ["FocusHashing"]),
        .testTarget(name: "FocusStoreTests", dependencies: ["FocusStore"]),
        .testTarget(name: "FocusSQLiteTests", dependencies: ["FocusSQLite"]),
        .testTarget(name: "FocusQueueTests", dependencies: ["FocusQueue", "FocusSQLite", "CSQLite"]),
        .testTarget(
            name: "FocusEngineTests",
            dependencies: ["FocusModel", "FocusTokenizer", "FocusDecoding", "FocusStore", "FocusEngine"]),
        .testTarget(
            name: "FocusWorkerTests",
            dependencies: ["FocusHashing", "FocusDecoding", "FocusStore", "FocusEngine", "FocusQueue", "FocusWorker"]),
        .testTarget(name: "FocusCLITests", dependencies: ["focus", "FocusQueue", "FocusSQLite"]),
    ],
    swiftLanguageModes: [.v5]
)
