import ArgumentParser
import FocusQueue
import Foundation

enum ResultFormat: String, ExpressibleByArgument {
    case table, json, csv
}

/// Renders finished jobs for people (table), programs (JSON lines) and spreadsheets (CSV).
enum ResultFormatter {
    static let columns = ["id", "state", "mode", "question", "answer", "tokens_per_s", "decode_s", "store_hit", "error"]

    static func dictionary(_ d: JobDetails) -> [String: Any] {
        var out: [String: Any] = [
            "id": d.job.id, "state": d.job.state.rawValue, "mode": d.job.mode, "question": d.job.question,
            "document": d.job.documentPath, "attempt": d.job.attempt,
        ]
        if let result = d.result { out["answer"] = result.answer }
        if let error = d.job.lastError { out["error"] = error }
        if let m = d.metrics {
            out["tokens_per_second"] = m.tokensPerSecond ?? NSNull()
            out["decode_seconds"] = m.decodeSeconds ?? NSNull()
            out["prefill_seconds"] = m.prefillSeconds ?? NSNull()
            out["nfe"] = m.nfe ?? NSNull()
            out["attention_density"] = m.attentionDensity ?? NSNull()
            out["store_hit"] = m.storeHit ?? NSNull()
            out["peak_rss_bytes"] = m.peakRSSBytes ?? NSNull()
        }
        return out
    }

    static func cells(_ d: JobDetails) -> [String] {
        let m = d.metrics
        return [
            "\(d.job.id)", d.job.state.rawValue, d.job.mode, d.job.question, d.result?.answer ?? "",
            m?.tokensPerSecond.map { String(format: "%.2f", $0) } ?? "",
            m?.decodeSeconds.map { String(format: "%.3f", $0) } ?? "",
            m?.storeHit.map { $0 ? "yes" : "no" } ?? "", d.job.lastError ?? "",
        ]
    }

    static func render(_ rows: [JobDetails], as format: ResultFormat) -> String {
        switch format {
        case .json:
            return rows.map { jsonLine(dictionary($0)) + "\n" }.joined()
        case .csv:
            let quote = { (s: String) -> String in
                "\"" + neutralizingFormula(escapingControls(s)).replacingOccurrences(of: "\"", with: "\"\"") + "\""
            }
            return ([columns.joined(separator: ",")] + rows.map { cells($0).map(quote).joined(separator: ",") })
                .joined(separator: "\n") + "\n"
        case .table:
            let body = rows.map { cells($0).map(escapingControls) }
            let widths = columns.indices.map { i in
                min(48, ([columns[i]] + body.map { $0[i] }).map(\.count).max() ?? 0)
            }
            func line(_ cells: [String]) -> String {
                zip(cells, widths).map { cell($0, width: $1) }.joined(separator: "  ")
            }
            return ([line(columns)] + body.map(line)).joined(separator: "\n") + "\n"
        }
    }

    /// `text` clipped with an ellipsis or padded with spaces to exactly `width` characters.
    static func cell(_ text: String, width: Int) -> String {
        let clipped = text.count > width ? String(text.prefix(width - 1)) + "…" : text
        return clipped.padding(toLength: width, withPad: " ", startingAt: 0)
    }

    /// `text` with every control character (C0, DEL, C1) and bidirectional override written as a
    /// visible escape (`\n`, `\t`, `\r`, `\u{1B}`), so that questions and answers cannot move the
    /// cursor, recolour or rewrite a terminal, or break a line of the table.
    static func escapingControls(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            default:
                let bidi = (0x202A...0x202E).contains(scalar.value) || (0x2066...0x2069).contains(scalar.value)
                if scalar.properties.generalCategory == .control || bidi {
                    out += "\\u{" + String(scalar.value, radix: 16, uppercase: true) + "}"
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out
    }

    /// A CSV cell that a spreadsheet would run as a formula (it starts with `=`, `+`, `-` or `@`)
    /// prefixed with `'`, so that it is shown as text; numbers are left as they are.
    static func neutralizingFormula(_ cell: String) -> String {
        guard let first = cell.first, "=+-@".contains(first), Double(cell) == nil else { return cell }
        return "'" + cell
    }

    /// Unix seconds, or an ISO 8601 date-time.
    static func parseTime(_ text: String) -> Double? {
        if let seconds = Double(text) { return seconds }
        return ISO8601DateFormatter().date(from: text)?.timeIntervalSince1970
    }
}
