import Foundation

/// Writes a line to standard error.
func printError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}

/// A JSON rendering of `value` on one line with sorted keys.
func jsonLine(_ value: Any) -> String {
    let data = (try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
    return String(decoding: data, as: UTF8.self)
}

/// Reads a whole UTF-8 text file, naming the file in the error.
func readText(_ path: String, what: String) throws -> String {
    guard let data = FileManager.default.contents(atPath: path) else {
        throw CLIError.badInput("\(path): \(what) not found or unreadable")
    }
    guard !data.isEmpty else { throw CLIError.badInput("\(path): \(what) is empty") }
    if data.contains(0) { throw CLIError.badInput("\(path): \(what) is binary (contains NUL bytes)") }
    guard let text = String(data: data, encoding: .utf8) else {
        throw CLIError.badInput("\(path): \(what) is not valid UTF-8")
    }
    guard !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
        throw CLIError.badInput("\(path): \(what) has no text")
    }
    return text
}
