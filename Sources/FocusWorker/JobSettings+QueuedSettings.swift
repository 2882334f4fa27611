import FocusEngine
import FocusQueue

/// The queue keeps a job's settings as their canonical JSON, and its mode's name beside them.
extension JobSettings: QueuedSettings {
    /// The decoding mode's name (`stored`, `focus`, …).
    public var modeName: String { mode.rawValue }
}
