import Foundation

/// Memory figures of the current process, read from `/proc/self/status`.
public enum ProcessMemory {
    /// Peak resident set size (VmHWM) in bytes, or 0 where unavailable.
    public static var peakResidentBytes: Int { field("VmHWM:") }

    /// Current resident set size (VmRSS) in bytes, or 0 where unavailable.
    public static var residentBytes: Int { field("VmRSS:") }

    private static func field(_ name: String) -> Int {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
        for line in status.split(separator: "\n") where line.hasPrefix(name) {
            let digits = line.dropFirst(name.count).trimmingCharacters(in: .whitespaces).split(separator: " ").first
            return (digits.flatMap { Int($0) } ?? 0) * 1024
        }
        return 0
    }
}
