import FocusQueue
import Foundation

/// A flag set from another thread, or by a signal, to stop a worker.
public final class StopFlag: StopRequest, @unchecked Sendable {
    private let lock = NSLock()
    private var requested = false
    private var watchesSignals = false

    /// A flag not yet set.
    public init() {}

    /// Asks the worker to stop.
    public func request() {
        lock.lock()
        requested = true
        lock.unlock()
    }

    /// Makes the flag read as set once the process receives one of `signals` (e.g.
    /// `SIGTERM`, `SIGINT`), instead of the signal terminating the process. The
    /// handler only stores to one process-wide word (async-signal-safe), so every
    /// flag watching signals sees any of the signals installed by any of them.
    public func stopOnSignals(_ signals: [Int32]) {
        signalStopWord.pointee = 0
        var unblocked = sigset_t()
        sigemptyset(&unblocked)
        for number in signals {
            signal(number) { _ in signalStopWord.pointee = 1 }
            sigaddset(&unblocked, number)
        }
        // A parent may have started us with these signals blocked; they must reach the handler.
        pthread_sigmask(SIG_UNBLOCK, &unblocked, nil)
        lock.lock()
        watchesSignals = true
        lock.unlock()
    }

    /// True once `request()` was called or a watched signal arrived.
    public var isRequested: Bool {
        lock.lock()
        defer { lock.unlock() }
        return requested || (watchesSignals && signalStopWord.pointee != 0)
    }
}

/// Set to 1 by the signal handler of `StopFlag.stopOnSignals`.
nonisolated(unsafe) private let signalStopWord: UnsafeMutablePointer<Int32> = {
    let word = UnsafeMutablePointer<Int32>.allocate(capacity: 1)
    word.initialize(to: 0)
    return word
}()
