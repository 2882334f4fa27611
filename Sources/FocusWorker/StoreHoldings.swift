import FocusQueue
import FocusStore
import Foundation

/// Which queue documents a local document store holds, as seen by the processor that writes it,
/// and what changed since the queue was last told (`JobProcessor.takeStoreChanges`).
///
/// A document is held while at least one of its store entries (one per model and prefill
/// settings) exists. Entries are evicted by the store itself when it exceeds its budget, or by
/// `focus store gc` in another process, so eviction is found by looking: after a job that wrote an
/// entry (a write may evict others), and at least every `recheckSeconds` otherwise.
final class StoreHoldings {
    /// The store folder.
    let directory: URL
    /// Longest time between checks for evicted entries when no entry was written.
    let recheckSeconds: Double
    private let clock: () -> Double
    private var entries: [Int64: Set<String>] = [:]
    private var gained: Set<Int64> = []
    private var wroteSinceCheck = false
    private var lastCheck: Double

    /// Holdings of the store at `directory`, none known yet.
    init(directory: URL, recheckSeconds: Double = 60, clock: @escaping () -> Double = { Date().timeIntervalSince1970 }) {
        self.directory = directory
        self.recheckSeconds = recheckSeconds
        self.clock = clock
        lastCheck = clock()
    }

    /// Records that a job about `documentID` used the store entry `key` (hex), found there
    /// (`storeHit`) or written now.
    func used(documentID: Int64, key: String, storeHit: Bool) {
        if !storeHit { wroteSinceCheck = true }
        if entries[documentID, default: []].insert(key).inserted, entries[documentID]?.count == 1 {
            gained.insert(documentID)
        }
    }

    /// Documents gained since the last call, and documents whose every entry has left the store.
    func takeChanges() -> StoreHoldingChanges {
        var changes = StoreHoldingChanges(stored: gained)
        gained = []
        let now = clock()
        guard wroteSinceCheck || now - lastCheck >= recheckSeconds else { return changes }
        wroteSinceCheck = false
        lastCheck = now
        for (document, keys) in entries {
            let present = keys.filter { DocumentStore.holdsEntry(in: directory, keyHex: $0) }
            if present.isEmpty {
                entries[document] = nil
                changes.evicted.insert(document)
                changes.stored.remove(document)
            } else if present.count < keys.count {
                entries[document] = present
            }
        }
        return changes
    }
}
