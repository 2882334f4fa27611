import ArgumentParser
import FocusEngine
import FocusQueue
import FocusStore
import Foundation

/// `focus store ls|verify|gc`: inspect and maintain the document store.
struct StoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "store", abstract: "Inspect and maintain the document store.",
        subcommands: [List.self, Verify.self, Collect.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "ls", abstract: "List stored documents.")
        @OptionGroup var store: StoreOptions

        func run() throws {
            try withExitCodes {
                let manifests: [DocumentManifest]
                do {
                    manifests = try store.open().list()
                } catch {
                    throw CLIError.io("\(error)")
                }
                print("key\ttokens\tlayers\tformat\tprefill\texact\tbytes")
                for m in manifests {
                    print("\(m.key)\t\(m.tokenCount)\t\(m.layers)\t\(m.numberFormat.rawValue)\t\(m.prefillMode)\t\(m.exactForQuestions)\t\(m.compressedBytes)")
                }
            }
        }
    }

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "verify", abstract: "Check every block's checksum; remove corrupt entries.")
        @OptionGroup var store: StoreOptions

        func run() throws {
            try withExitCodes {
                let report: VerifyReport
                do {
                    report = try store.open().verify()
                } catch {
                    throw CLIError.io("\(error)")
                }
                print(jsonLine([
                    "entries_checked": report.entriesChecked, "blocks_checked": report.blocksChecked,
                    "removed": report.removed, "problems": report.problems,
                ]))
                if !report.problems.isEmpty { throw ExitCode(FocusExitCode.badInput.rawValue) }
            }
        }
    }

    struct Collect: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "gc", abstract: "Remove leftovers of interrupted writes and evict to the disk budget.")
        @OptionGroup var store: StoreOptions

        func run() throws {
            try withExitCodes {
                let report: GCReport
                do {
                    report = try store.open().garbageCollect()
                } catch {
                    throw CLIError.io("\(error)")
                }
                print(jsonLine([
                    "leftovers_removed": report.leftoversRemoved, "evicted": report.evicted,
                    "skipped_in_use": report.skippedPinned, "bytes_before": report.bytesBefore,
                    "bytes_after": report.bytesAfter,
                ]))
            }
        }
    }
}
