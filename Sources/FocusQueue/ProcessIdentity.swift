import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Who a worker process is, precisely enough to tell later whether it still runs: its host, its
/// pid, and the boot and start time of the process, so that a pid reused by another process after
/// a crash (or a reboot) is not taken for the worker.
public struct ProcessIdentity: Sendable, Equatable {
    /// The host name: `FOCUS_HOST` when set, else as `ProcessInfo` reports it (see `localHost`).
    public var host: String
    /// The process id.
    public var pid: Int32
    /// `/proc/sys/kernel/random/boot_id` (nil where the system has none).
    public var bootID: String?
    /// Start time of the process in clock ticks after boot, field 22 of `/proc/<pid>/stat` (nil
    /// where the system has no /proc).
    public var startTicks: Int64?

    /// An identity with the given fields.
    public init(host: String, pid: Int32, bootID: String?, startTicks: Int64?) {
        self.host = host
        self.pid = pid
        self.bootID = bootID
        self.startTicks = startTicks
    }

    /// This process.
    public static func current() -> ProcessIdentity {
        let pid = ProcessInfo.processInfo.processIdentifier
        return ProcessIdentity(host: localHost, pid: pid, bootID: currentBootID, startTicks: startTicks(of: pid))
    }

    /// The name this host gives its workers: `FOCUS_HOST` when set and not empty (hosts whose
    /// system names clash, or network namespaces standing for hosts), else the system's host name.
    public static var localHost: String {
        if let name = ProcessInfo.processInfo.environment["FOCUS_HOST"], !name.isEmpty { return name }
        return ProcessInfo.processInfo.hostName
    }

    /// What is known of a recorded worker process from this host.
    public enum Liveness: Sendable, Equatable {
        /// The process runs (the same process: pid, boot and start time agree).
        case alive
        /// No such process runs on this host any more.
        case dead
        /// The process belongs to another host: only its lease can tell.
        case elsewhere
    }

    /// Whether the process this identity names still runs, seen from this host.
    public func liveness() -> Liveness {
        guard host == Self.localHost else { return .elsewhere }
        if let bootID, let currentBootID = Self.currentBootID, bootID != currentBootID { return .dead }
        if let recorded = startTicks, let running = Self.startTicks(of: pid) {
            return recorded == running ? .alive : .dead
        }
        if pid <= 0 { return .dead }
        if kill(pid, 0) == 0 { return .alive }
        return errno == ESRCH ? .dead : .alive
    }

    // MARK: - /proc

    /// The boot id of the running kernel, read once.
    static let currentBootID: String? = {
        guard let text = try? String(contentsOfFile: "/proc/sys/kernel/random/boot_id", encoding: .utf8) else {
            return nil
        }
        let trimmed = text.trimmingWhitespace()
        return trimmed.isEmpty ? nil : trimmed
    }()

    /// Field 22 (`starttime`) of `/proc/<pid>/stat`, or nil when the process or /proc is missing.
    static func startTicks(of pid: Int32) -> Int64? {
        guard pid > 0, let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let nameEnd = stat.range(of: ")", options: .backwards)
        else { return nil }
        // After the command name (in parentheses, possibly with spaces) come fields 3, 4, ...
        let fields = stat[nameEnd.upperBound...].split(separator: " ")
        guard fields.count > 19 else { return nil }
        return Int64(fields[19])
    }
}
