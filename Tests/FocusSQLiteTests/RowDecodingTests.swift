import FocusSQLite
import Foundation
import Testing

/// Required columns: a value is read, a missing column or a NULL is an error naming the column.
@Suite("Row decoding")
struct RowDecodingTests {
    let row = Row(columns: ["id", "name", "score", "note"], values: [.integer(7), .text("ada"), .real(0.5), .null])

    @Test("present values are read with their type")
    func presentValues() throws {
        #expect(try row.requiredInt64("id") == 7)
        #expect(try row.requiredInt("id") == 7)
        #expect(try row.requiredString("name") == "ada")
        #expect(try row.requiredDouble("score") == 0.5)
    }

    @Test("a column the query did not return is named in the error")
    func missingColumn() {
        #expect(throws: RowDecodingError.missingColumn("age", columns: ["id", "name", "score", "note"])) {
            try row.requiredInt("age")
        }
    }

    @Test("a NULL where a value is required is named in the error")
    func nullValue() {
        #expect(throws: RowDecodingError.missingValue(column: "note", type: "text")) { try row.requiredString("note") }
        #expect(throws: RowDecodingError.missingValue(column: "name", type: "integer")) { try row.requiredInt64("name") }
    }

    @Test("rows read from a database decode their required columns")
    func fromDatabase() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("focus-sqlite-\(UUID().uuidString).sqlite").path
        defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
        let database = try Database(path: path)
        let fetched = try #require(try database.fetchOne("SELECT 3 AS n, 'x' AS s, NULL AS z"))
        #expect(try fetched.requiredInt("n") == 3)
        #expect(try fetched.requiredString("s") == "x")
        #expect(throws: RowDecodingError.missingValue(column: "z", type: "number")) { try fetched.requiredDouble("z") }
    }
}
