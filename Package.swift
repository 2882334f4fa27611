// swift-tools-version:6.0
import PackageDescription

#if canImport(Glibc)
    import Glibc
#endif
import Foundation

/// The widest x86-64 level this machine's CPU supports (`skylake-avx512` with AVX-512, `haswell`
/// with AVX2 and FMA), read from /proc/cpuinfo, so that the SIMD16 kernels use its registers;
/// `nil` elsewhere, on other CPUs, or with `FOCUS_PORTABLE=1` (a binary for other machines).
let nativeCPU: String? = {
    guard ProcessInfo.processInfo.environment["FOCUS_PORTABLE"] != "1",
        let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
        let line = info.split(separator: "\n").first(where: { $0.hasPrefix("flags") })
    else { return nil }
    let flags = Set(line.split(separator: " ").map(String.init))
    let v3 = ["avx", "avx2", "bmi1", "bmi2", "f16c", "fma", "abm", "movbe", "xsave"]
    let v4 = v3 + ["avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl"]
    if v4.allSatisfy(flags.contains) { return "skylake-avx512" }
    if v3.allSatisfy(flags.contains) { return "haswell" }
    return nil
}()

/// Release builds drop exclusivity checks in the numeric hot loops and target the build
/// machine's vector units when the check above found them.
let fastMath: [SwiftSetting] = [
    .unsafeFlags(
        ["-enforce-exclusivity=unchecked"] + (nativeCPU.map { ["-target-cpu", $0] } ?? []),
        .when(configuration: .release))
]

/// Swift 6 language mode (data-race safety checked at compile time) for the targets that build
/// clean in it; FocusModel, FocusQueue, FocusQueuePostgres, the executables and the tests stay in
/// Swift 5 mode (`swiftLanguageModes` below) for now.
let swift6: [SwiftSetting] = [.swiftLanguageMode(.v6)]

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
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
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
        .target(name: "FocusTokenizer", swiftSettings: fastMath + swift6),
        // MARK: Diffusion decoders: vanilla, cached (Fast-dLLM), Focus sparse attention
        .target(name: "FocusDecoding", dependencies: ["FocusModel"], swiftSettings: fastMath + swift6),
        // MARK: SHA-256 and xxHash64
        .target(name: "FocusHashing", swiftSettings: fastMath + swift6),
        // MARK: Document store: compressed KV blocks, representative keys, sinks on disk
        .target(name: "FocusStore", dependencies: ["FocusHashing", "FocusModel", "CLZ4"], swiftSettings: fastMath + swift6),
        // MARK: SQLite connections, statements, rows and errors
        .target(name: "FocusSQLite", dependencies: ["CSQLite"], swiftSettings: swift6),
        // MARK: The job queue on SQLite: documents, jobs, leases, workers, results, metrics
        .target(
            name: "FocusQueue",
            dependencies: ["FocusSQLite", .product(name: "Logging", package: "swift-log")]),
        // MARK: The job queue on PostgreSQL, for workers on several hosts
        .target(
            name: "FocusQueuePostgres",
            dependencies: [
                "FocusQueue", "FocusSQLite",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]),
        // MARK: The engine: model + tokenizer + store + decoders answering one question
        .target(
            name: "FocusEngine",
            dependencies: ["FocusHashing", "FocusModel", "FocusTokenizer", "FocusDecoding", "FocusStore"],
            swiftSettings: fastMath + swift6),
        // MARK: The worker's processor: queued jobs answered by the engine
        .target(
            name: "FocusWorker", dependencies: ["FocusHashing", "FocusDecoding", "FocusStore", "FocusEngine", "FocusQueue"],
            swiftSettings: swift6),
        // MARK: Command line
        .executableTarget(
            name: "focus",
            dependencies: [
                "FocusHashing", "FocusModel", "FocusTokenizer", "FocusDecoding", "FocusStore", "FocusEngine",
                "FocusSQLite", "FocusQueue", "FocusQueuePostgres", "FocusWorker",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]),
        .executableTarget(
            name: "FocusBench",
            dependencies: [
                "COpenBLAS", "FocusModel", "FocusTokenizer", "FocusDecoding", "FocusStore", "FocusEngine", "FocusQueue",
                "FocusQueuePostgres",
            ],
            swiftSettings: fastMath),

        // MARK: Tests
        .testTarget(name: "FocusModelTests", dependencies: ["FocusModel"]),
        .testTarget(name: "FocusTokenizerTests", dependencies: ["FocusTokenizer"]),
        .testTarget(name: "FocusDecodingTests", dependencies: ["FocusModel", "FocusDecoding"]),
        .testTarget(name: "FocusHashingTests", dependencies: ["FocusHashing"]),
        .testTarget(name: "FocusStoreTests", dependencies: ["FocusStore"]),
        .testTarget(name: "FocusSQLiteTests", dependencies: ["FocusSQLite"]),
        .testTarget(
            name: "FocusQueueTests",
            dependencies: ["FocusQueue", "FocusQueuePostgres", "FocusSQLite", "FocusWorker", "CSQLite"]),
        .testTarget(
            name: "FocusEngineTests",
            dependencies: ["FocusModel", "FocusTokenizer", "FocusDecoding", "FocusStore", "FocusEngine"]),
        .testTarget(
            name: "FocusWorkerTests",
            dependencies: ["FocusHashing", "FocusDecoding", "FocusStore", "FocusEngine", "FocusQueue", "FocusWorker"]),
        .testTarget(name: "FocusCLITests", dependencies: ["focus", "FocusQueue", "FocusQueuePostgres", "FocusSQLite"]),
    ],
    swiftLanguageModes: [.v5]
)
