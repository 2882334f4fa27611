import COpenBLAS
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

// MARK: - JSON

/// A benchmark result written as JSON (`<suite>.json`), of the shape each suite decides. Not the
/// tokenizer's `JSONValue`, which parses `tokenizer.json` keeping the order of its keys.
enum ResultJSON: Codable, Equatable {
    case number(Double)
    case string(String)
    case bool(Bool)
    case array([ResultJSON])
    case object([String: ResultJSON])
    case null

    init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([ResultJSON].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: ResultJSON].self))
        }
    }

    func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .number(let value) where value.isFinite: try container.encode(value)
        case .number: try container.encodeNil()
        case .string(let value): try container.encode(value)
        case .bool(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        case .null: try container.encodeNil()
        }
    }

    /// The number under `key` of an object, if any.
    subscript(key: String) -> Double? {
        guard case .object(let fields) = self, case .number(let value)? = fields[key] else { return nil }
        return value
    }

    /// Pretty-printed with sorted keys.
    var text: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return (try? String(decoding: encoder.encode(self), as: UTF8.self)) ?? "null"
    }
}

// MARK: - Clocks

/// Wall-clock and process CPU time.
enum Clock {
    /// Seconds on a monotonic clock.
    static func now() -> Double {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return Double(spec.tv_sec) + Double(spec.tv_nsec) * 1e-9
    }

    /// CPU seconds used by this process so far, all threads.
    static func processCPU() -> Double {
        var spec = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &spec)
        return Double(spec.tv_sec) + Double(spec.tv_nsec) * 1e-9
    }
}

/// The wall and CPU seconds of one timed run.
struct Timing {
    var wall: Double
    var cpu: Double
    /// Cores kept busy on average: near the core count when nobody else competes for them.
    var coresUsed: Double { wall > 0 ? cpu / wall : 0 }

    /// Times `body` once.
    static func measure(_ body: () -> Void) -> Timing {
        let cpu0 = Clock.processCPU()
        let wall0 = Clock.now()
        body()
        return Timing(wall: Clock.now() - wall0, cpu: Clock.processCPU() - cpu0)
    }

    /// The fastest (by wall time) of `repetitions` runs of `body`.
    static func best(of repetitions: Int, _ body: () -> Void) -> Timing {
        var best = measure(body)
        for _ in 1..<max(repetitions, 1) {
            let timing = measure(body)
            if timing.wall < best.wall { best = timing }
        }
        return best
    }
}

// MARK: - Memory

// MARK: - Machine

/// Facts about the machine a run measured, written next to every result.
enum MachineFacts {
    static func collect() -> [String: ResultJSON] {
        let cpuinfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        let model = cpuinfo.split(separator: "\n").first { $0.hasPrefix("model name") }
            .map { String($0.split(separator: ":", maxSplits: 1).last ?? "").trimmingCharacters(in: .whitespaces) }
        let flags = Set(
            cpuinfo.split(separator: "\n").first { $0.hasPrefix("flags") }?
                .split(separator: " ").map(String.init) ?? [])
        let simd = ["avx2", "fma", "avx512f", "avx512_bf16", "avx512_vnni"].filter(flags.contains)
        let meminfo = (try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8)) ?? ""
        let memTotal = meminfo.split(separator: "\n").first { $0.hasPrefix("MemTotal") }?
            .split(separator: " ").compactMap { Int($0) }.first ?? 0
        let formatter = ISO8601DateFormatter()
        return [
            "cpu_model": .string(model ?? "unknown"),
            "cpu_simd": .array(simd.map(ResultJSON.string)),
            "cores_online": .number(Double(ProcessInfo.processInfo.activeProcessorCount)),
            "memory_bytes": .number(Double(memTotal * 1024)),
            "date": .string(formatter.string(from: Date())),
            "load_average_1min": .number(loadAverage()),
            "openblas_config": .string(openblas_get_config().map { String(cString: $0) } ?? "unknown"),
            "openblas_core": .string(openblas_get_corename().map { String(cString: $0) } ?? "unknown"),
            "openblas_num_threads_env": .string(ProcessInfo.processInfo.environment["OPENBLAS_NUM_THREADS"] ?? "unset"),
        ]
    }

    /// The one-minute load average (other work competing for the cores).
    static func loadAverage() -> Double {
        let text = (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8)) ?? ""
        return text.split(separator: " ").first.flatMap { Double($0) } ?? -1
    }

    /// One line for the top of a Markdown report.
    static func summary(_ facts: [String: ResultJSON]) -> String {
        func text(_ key: String) -> String {
            switch facts[key] {
            case .string(let value)?: return value
            case .number(let value)?: return Format.number(value)
            case .array(let values)?: return values.compactMap { if case .string(let s) = $0 { s } else { nil } }.joined(separator: " ")
            default: return "?"
            }
        }
        return "\(text("cpu_model")) (\(text("cpu_simd"))), \(text("cores_online")) cores, "
            + "OpenBLAS \(text("openblas_core")), load average \(text("load_average_1min")), \(text("date"))"
    }
}

// MARK: - Formatting

/// Number formatting for the tables.
enum Format {
    /// Three significant digits, plain notation.
    static func number(_ value: Double) -> String {
        guard value.isFinite else { return "—" }
        let magnitude = abs(value)
        if magnitude >= 100 { return String(format: "%.0f", value) }
        if magnitude >= 10 { return String(format: "%.1f", value) }
        if magnitude >= 1 { return String(format: "%.2f", value) }
        return String(format: "%.3f", value)
    }

    /// A ratio as a percentage.
    static func percent(_ ratio: Double) -> String { ratio.isFinite ? String(format: "%.0f %%", ratio * 100) : "—" }

    /// Bytes in GiB or MiB.
    static func bytes(_ count: Int) -> String {
        let value = Double(count)
        return value >= Double(1 << 30) ? String(format: "%.2f GiB", value / Double(1 << 30)) : String(format: "%.0f MiB", value / Double(1 << 20))
    }

    /// A target check.
    static func verdict(_ met: Bool) -> String { met ? "met" : "missed" }
}
