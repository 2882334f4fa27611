import FocusEngine
import Foundation

/// One line of an evaluation set.
struct EvaluationExample {
    var id: String
    var documentID: String
    var document: String
    var question: String
    var answers: [String]
    /// The question's kind (`single-hop`, `test-phrasing`, `two-hop`), where the set gives one.
    var kind: String?
}

enum EvaluationSet {
    /// Reads a JSONL evaluation set, naming the line and field of any problem. A document's text
    /// stands on the first line of its `doc_id`; later lines about it may omit `document`.
    static func read(_ path: String) throws -> [EvaluationExample] {
        let text = try readText(path, what: "evaluation set")
        var examples: [EvaluationExample] = []
        var documents: [String: String] = [:]
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let number = index + 1
            if line.trimmingCharacters(in: .whitespaces).isEmpty { continue }
            guard let object = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any] else {
                throw CLIError.badInput("\(path): line \(number): not a JSON object")
            }
            func string(_ field: String) throws -> String {
                guard let value = object[field] as? String, !value.isEmpty else {
                    throw CLIError.badInput("\(path): line \(number): field \"\(field)\" missing or not a non-empty string")
                }
                return value
            }
            guard let answers = object["answers"] as? [String], !answers.isEmpty else {
                throw CLIError.badInput("\(path): line \(number): field \"answers\" must be a non-empty array of strings")
            }
            let documentID = (object["doc_id"] as? String) ?? ""
            let document: String
            if object["document"] == nil, let earlier = documents[documentID], !documentID.isEmpty {
                document = earlier
            } else {
                document = try string("document")
                documents[documentID] = document
            }
            examples.append(EvaluationExample(
                id: (object["id"] as? String) ?? "\(number)", documentID: documentID,
                document: document, question: try string("question"), answers: answers,
                kind: object["kind"] as? String))
        }
        return examples
    }

    /// Consecutive examples about the same document, at most `size` to a group, in order.
    static func groups(_ examples: [EvaluationExample], size: Int) -> [[EvaluationExample]] {
        var groups: [[EvaluationExample]] = []
        for example in examples {
            if let last = groups.last?.last, groups[groups.count - 1].count < size,
               last.documentID == example.documentID, last.document == example.document {
                groups[groups.count - 1].append(example)
            } else {
                groups.append([example])
            }
        }
        return groups
    }
}

/// Sums over the examples of an evaluation.
struct EvaluationTally {
    var examples = 0
    var correct = 0
    /// Correct and asked, per question kind.
    var byKind: [String: (correct: Int, examples: Int)] = [:]
    var answerTokens = 0
    var seconds = 0.0
    var decodeSeconds = 0.0
    var forwardPasses = 0
    var attended = 0
    var available = 0
    var storeHits = 0
    var peakRSS = 0

    mutating func add(_ answer: QAAnswer, correct isCorrect: Bool, kind: String? = nil) {
        examples += 1
        correct += isCorrect ? 1 : 0
        if let kind {
            let sofar = byKind[kind] ?? (0, 0)
            byKind[kind] = (sofar.correct + (isCorrect ? 1 : 0), sofar.examples + 1)
        }
        answerTokens += answer.tokens.count
        seconds += answer.totalSeconds
        decodeSeconds += answer.decoding.decodeSeconds
        forwardPasses += answer.decoding.forwardPasses
        attended += answer.decoding.attendedRows
        available += answer.decoding.availableRows
        storeHits += answer.prefill?.storeHit == true ? 1 : 0
        peakRSS = max(peakRSS, answer.peakResidentBytes)
    }

    var summary: [String: Any] {
        let n = Double(max(examples, 1))
        return [
            "accuracy": Double(correct) / n, "examples": examples,
            "tokens_per_second": seconds > 0 ? Double(answerTokens) / seconds : 0,
            "seconds_per_question": seconds / n, "decode_seconds_per_question": decodeSeconds / n,
            "nfe": Double(forwardPasses) / n,
            "attention_density": available > 0 ? Double(attended) / Double(available) : 1,
            "store_hits": storeHits, "peak_rss_bytes": peakRSS,
            "by_kind": byKind.mapValues { tally -> [String: Any] in
                ["accuracy": Double(tally.correct) / Double(max(tally.examples, 1)), "examples": tally.examples]
            },
        ]
    }
}
