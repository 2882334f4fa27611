import FocusQueue
import Foundation

/// Expected answers by idempotency key (the format of `jobs/sample-answers.json`:
/// `{"key": {"question": "…", "answers": ["…"]}}`), to score finished jobs against.
struct AnswerKey {
    /// Accepted answers per key.
    var answers: [String: [String]]

    /// Reads an answer key, naming the file and the key of any malformed entry.
    static func read(_ path: String) throws -> AnswerKey {
        let text = try readText(path, what: "answer key")
        guard let object = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] else {
            throw CLIError.badInput("\(path): not a JSON object of keys")
        }
        var answers: [String: [String]] = [:]
        for (key, value) in object {
            guard let entry = value as? [String: Any], let accepted = entry["answers"] as? [String],
                !accepted.isEmpty
            else {
                throw CLIError.badInput("\(path): key \"\(key)\": field \"answers\" must be a non-empty array of strings")
            }
            answers[key] = accepted
        }
        return AnswerKey(answers: answers)
    }

    /// One scored job.
    struct Line: Equatable {
        var key: String
        var answer: String?
        var expected: [String]
        var correct: Bool
    }

    /// Every key of the answer key, in key order, with the answer of the finished job submitted
    /// under it; a key with no finished job counts as wrong. Exact match as in `focus eval` (case,
    /// surrounding space and a final period aside).
    func score(_ rows: [JobDetails]) -> [Line] {
        var latest: [String: JobDetails] = [:]
        for row in rows {
            guard let key = row.job.idempotencyKey, answers[key] != nil else { continue }
            latest[key] = row
        }
        return answers.keys.sorted { $0.localizedStandardCompare($1) == .orderedAscending }.map { key in
            let expected = answers[key] ?? []
            let answer = latest[key]?.result?.answer
            let correct = answer.map { given in
                expected.contains { normalizedAnswer($0) == normalizedAnswer(given) }
            } ?? false
            return Line(key: key, answer: answer, expected: expected, correct: correct)
        }
    }

    /// The scored lines as a table (answer beside the expected one) and a closing score line.
    static func render(_ lines: [Line]) -> String {
        let keyWidth = max(3, lines.map(\.key.count).max() ?? 0)
        let answerWidth = min(40, max(6, lines.map { ($0.answer ?? "-").count }.max() ?? 0))
        let pad = ResultFormatter.cell
        var out = "\(pad("key", keyWidth))  \(pad("answer", answerWidth))  expected\n"
        for line in lines {
            let answer = ResultFormatter.escapingControls(line.answer ?? "-")
            let mark = line.correct ? "ok" : "wrong"
            out += "\(pad(line.key, keyWidth))  \(pad(answer, answerWidth))  "
            out += "\(line.expected.joined(separator: " | "))  \(mark)\n"
        }
        let right = lines.filter(\.correct).count
        out += "score: \(right)/\(lines.count) correct\n"
        return out
    }
}
