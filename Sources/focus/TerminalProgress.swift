import FocusEngine
import FocusWorker
import Foundation

/// A one-line progress bar for prefill and decoding, drawn on stderr only when it is a terminal
/// (logs and cron output stay clean).
final class TerminalProgress: JobProgressDisplay, @unchecked Sendable {
    private let label: String
    private var lastDrawn = 0.0

    /// Nil when stderr is not a terminal.
    init?(label: String) {
        guard isatty(STDERR_FILENO) == 1 else { return nil }
        self.label = label
    }

    func show(_ progress: EngineProgress) {
        let now = Date().timeIntervalSince1970
        guard now - lastDrawn > 0.1 || progress.done == progress.total else { return }
        lastDrawn = now
        let width = 24
        let filled = progress.total > 0 ? min(width, width * progress.done / progress.total) : 0
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
        let line = "\r\u{1B}[K\(label) \(progress.phase.rawValue) [\(bar)] \(progress.done)/\(progress.total)"
        FileHandle.standardError.write(Data(line.utf8))
    }

    func finish() {
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
    }
}
