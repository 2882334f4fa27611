import Foundation
import FocusModel

/// Paths of the repository's fixtures and the shared real-model fixtures.
enum Fixtures {
    static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let checkpoints = packageRoot.appendingPathComponent("Tests/Fixtures/checkpoints")
    static let shared = packageRoot.deletingLastPathComponent().appendingPathComponent("shared/fixtures")

    static func checkpoint(_ name: String) -> URL { checkpoints.appendingPathComponent(name) }
}

/// The reference outputs written by `Tests/ReferenceTools/make_reference_checkpoints.py`.
struct ReferenceCases {
    let file: SafeTensorsFile

    init(checkpoint: String) throws {
        file = try SafeTensorsFile(url: Fixtures.checkpoint(checkpoint).appendingPathComponent("reference.safetensors"))
    }

    func has(_ name: String) -> Bool { file.tensors[name] != nil }

    func ints(_ name: String) throws -> [Int32] {
        let view = try file.tensor(name)
        return (0..<view.elementCount).map { view.bytes.loadUnaligned(fromByteOffset: 4 * $0, as: Int32.self) }
    }

    func floats(_ name: String) throws -> [Float] {
        let view = try file.tensor(name)
        return (0..<view.elementCount).map { view.bytes.loadUnaligned(fromByteOffset: 4 * $0, as: Float.self) }
    }
}

/// `max |a − b| / max |b|`: the tolerance metric of the reference cases.
func relativeError(_ a: [Float], _ b: [Float]) -> Double {
    precondition(a.count == b.count, "lengths differ: \(a.count) vs \(b.count)")
    var worst = 0.0
    var scale = 0.0
    for (x, y) in zip(a, b) {
        worst = max(worst, abs(Double(x) - Double(y)))
        scale = max(scale, abs(Double(y)))
    }
    return worst / max(scale, 1e-30)
}
