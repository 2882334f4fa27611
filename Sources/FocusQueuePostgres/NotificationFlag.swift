import Foundation

/// Set by the connection's notification handler (on an event-loop thread) when another
/// session sends `NOTIFY` on the queue's channel; taken by the worker thread waiting for work.
final class NotificationFlag: @unchecked Sendable {
    private let condition = NSCondition()
    private var pending = false
    /// Whether the connection already listens on the channel.
    var isListening = false

    /// Records a notification and wakes a waiter.
    func set() {
        condition.lock()
        pending = true
        condition.signal()
        condition.unlock()
    }

    /// True once per notification received since the last call.
    func take() -> Bool {
        condition.lock()
        defer { condition.unlock() }
        let value = pending
        pending = false
        return value
    }

    /// Sleeps until a notification arrives or `seconds` pass (without consuming it).
    func wait(seconds: Double) {
        condition.lock()
        if !pending { _ = condition.wait(until: Date(timeIntervalSinceNow: max(seconds, 0))) }
        condition.unlock()
    }
}

extension PostgresJobQueue {
    /// Starts listening on the queue's channel, once per connection; notifications this
    /// connection sends itself are ignored.
    /// - Returns: true when it started listening now.
    func startListening() throws -> Bool {
        guard !notifications.isListening else { return false }
        let ownPID = try session.fetchOne("SELECT pg_backend_pid()::bigint AS pid")?.int64("pid")
        let flag = notifications
        session.connection.addListener(channel: Self.channel) { _, notification in
            if Int64(notification.backendPID) != ownPID { flag.set() }
        }
        try session.query("LISTEN \(Self.channel)")
        notifications.isListening = true
        return true
    }
}
