import ArgumentParser

/// The bounds a floating-point option must respect; NaN and infinities never pass.
struct NumberRange<Value: BinaryFloatingPoint & LosslessStringConvertible> {
    /// Smallest accepted value, and whether it is accepted itself.
    var lower: (value: Value, inclusive: Bool)?
    /// Largest accepted value, and whether it is accepted itself.
    var upper: (value: Value, inclusive: Bool)?

    /// At least `value`.
    static func atLeast(_ value: Value) -> NumberRange { NumberRange(lower: (value, true)) }
    /// Above `value`.
    static func above(_ value: Value) -> NumberRange { NumberRange(lower: (value, false)) }

    /// The same range, also at most `value`.
    func atMost(_ value: Value) -> NumberRange {
        var range = self
        range.upper = (value, true)
        return range
    }

    func contains(_ value: Value) -> Bool {
        guard value.isFinite else { return false }
        if let lower, lower.inclusive ? value < lower.value : value <= lower.value { return false }
        if let upper, upper.inclusive ? value > upper.value : value >= upper.value { return false }
        return true
    }

    /// "a finite number above 0 and at most 1", for messages.
    var phrase: String {
        var parts: [String] = []
        if let lower { parts.append((lower.inclusive ? "at least " : "above ") + Self.text(lower.value)) }
        if let upper { parts.append((upper.inclusive ? "at most " : "below ") + Self.text(upper.value)) }
        return "a finite number" + (parts.isEmpty ? "" : " " + parts.joined(separator: " and "))
    }

    private static func text(_ value: Value) -> String {
        let description = String(value)
        return description.hasSuffix(".0") ? String(description.dropLast(2)) : description
    }
}

/// Throws a usage error (exit 64) naming `option` unless `value` is absent or finite and in `range`.
func checkNumberOption<Value>(_ value: Value?, _ option: String, _ range: NumberRange<Value>) throws {
    guard let value, !range.contains(value) else { return }
    throw ValidationError("\(option) must be \(range.phrase), got \(value)")
}
