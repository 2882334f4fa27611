/// Tells a worker to stop: read between jobs, by the heartbeat of a job in progress, and while
/// the worker waits for work. `FocusWorker.StopFlag` is the one a process sets from its signals.
public protocol StopRequest: AnyObject, Sendable {
    /// True once the worker should stop.
    var isRequested: Bool { get }
}

/// A stop request never made: the worker stops only at its limits.
public final class NoStopRequest: StopRequest {
    /// A request that is never made.
    public init() {}
    public var isRequested: Bool { false }
}
