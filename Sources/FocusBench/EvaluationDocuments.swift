import Foundation

/// Questions about long documents from the evaluation sets (`jobs/eval/<set>.jsonl`), the real
/// English text the tokenizer, store and queue suites measure on.
struct EvaluationExample {
    var id: String
    var documentID: String
    var document: String
    var question: String
}

enum EvaluationDocuments {
    /// Reads `jobs/eval/<set>.jsonl` under the repository root, naming the file and line of the
    /// first malformed entry.
    static func load(_ set: String, context: BenchmarkContext) throws -> [EvaluationExample] {
        try load(url: context.repositoryRoot.appendingPathComponent("jobs/eval/\(set).jsonl"))
    }

    /// Reads the JSONL evaluation file at `url`.
    static func load(url: URL) throws -> [EvaluationExample] {
        let set = url.deletingPathExtension().lastPathComponent
        let text: String
        do {
            text = try String(contentsOf: url, encoding: .utf8)
        } catch {
            throw BenchmarkError.usage("cannot read \(url.path): \(error.localizedDescription)")
        }
        var examples: [EvaluationExample] = []
        var documents: [String: String] = [:]
        for (index, line) in text.split(separator: "\n").enumerated() where !line.isEmpty {
            let object = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any]
            guard let object, let question = object["question"] as? String, let documentID = object["doc_id"] as? String,
                let document = object["document"] as? String ?? documents[documentID]
            else {
                throw BenchmarkError.usage(
                    "\(url.path): line \(index + 1): expected an object with string fields question, doc_id and document (or an earlier line with its doc_id)")
            }
            documents[documentID] = document
            examples.append(
                EvaluationExample(
                    id: object["id"] as? String ?? "\(set)-\(index)", documentID: documentID, document: document,
                    question: question))
        }
        guard !examples.isEmpty else { throw BenchmarkError.usage("\(url.path) holds no examples") }
        return examples
    }

    /// The distinct documents of `examples`, in first-seen order.
    static func distinctDocuments(_ examples: [EvaluationExample]) -> [String] {
        var seen = Set<String>()
        return examples.map(\.document).filter { seen.insert($0).inserted }
    }

    /// The first document of `examples` and two different questions about it.
    static func twoQuestions(_ examples: [EvaluationExample]) throws -> (document: String, first: String, second: String) {
        let document = examples[0].document
        let questions = examples.filter { $0.document == document }.map(\.question)
        guard let second = questions.first(where: { $0 != questions[0] }) else {
            throw BenchmarkError.usage("the first document of the set has only one distinct question")
        }
        return (document, questions[0], second)
    }
}
