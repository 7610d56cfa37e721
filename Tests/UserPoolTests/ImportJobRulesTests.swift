import CognitoModel
import Testing

@testable import UserPool

@Suite("CSV import jobs")
struct ImportJobRulesTests {
    static func pool() throws -> Pool {
        try RulesTests.pool { $0.autoVerifiedAttributes = [.email] }
    }

    static func rows(_ pieces: [String]) throws -> [(Int64, [String])] {
        var reader = CSVRowReader()
        var rows: [(Int64, [String])] = []
        for piece in pieces { try reader.feed(Array(piece.utf8)) { rows.append(($0, $1)) } }
        try reader.finish { rows.append(($0, $1)) }
        return rows
    }

    @Test("CSV: quotes, doubled quotes, commas and line ends inside quotes, CRLF, a BOM, pieces cut anywhere")
    func csvReader() throws {
        let text = "\u{FEFF}a,b,c\r\n\"x, y\",\"say \"\"hi\"\"\",\"two\nlines\"\r\n\r\n,,last"
        let whole = try Self.rows([text])
        #expect(whole.map(\.1) == [["a", "b", "c"], ["x, y", "say \"hi\"", "two\nlines"], ["", "", "last"]])
        #expect(whole.map(\.0) == [1, 2, 3])
        // Fed a byte at a time (rows and the BOM split across pieces), the same rows.
        let bytes = Array(text.utf8)
        var reader = CSVRowReader()
        var split: [[String]] = []
        for b in bytes { try reader.feed([b]) { split.append($1) } }
        try reader.finish { split.append($1) }
        #expect(split == whole.map(\.1))
    }

    @Test("CSV: a stray quote, text after a closing quote, an open quote at the end, a huge row stop the file")
    func csvReaderRefuses() {
        for bad in ["a,b\"c\n", "\"a\"b,c\n", "a,\"never closed", String(repeating: "x", count: 70_000)] {
            #expect(throws: CSVRowReader.Malformed.self) { _ = try Self.rows([bad]) }
        }
    }

    @Test("header: every column of GetCSVHeader once, in any order")
    func header() throws {
        let pool = try Self.pool()
        let header = CSVImportRules.header(pool)
        #expect(RulesTests.refusal { () throws(PoolError) in try ImportJobRules.checkHeader(header.reversed(), pool: pool) } == nil)
        let missing = RulesTests.refusal { () throws(PoolError) in
            try ImportJobRules.checkHeader(header.filter { $0 != "email" }, pool: pool)
        }
        #expect(missing?.message.contains("missing columns email") == true)
        let extra = RulesTests.refusal { () throws(PoolError) in
            try ImportJobRules.checkHeader(header + ["password", "email"], pool: pool)
        }
        #expect(extra?.message.contains("unknown column password") == true)
        #expect(extra?.message.contains("column email appears twice") == true)
    }

    @Test("a row: RESET_REQUIRED with no password; refused without a verified auto-verified attribute")
    func row() throws {
        let pool = try Self.pool()
        let columns = ["cognito:username", "cognito:mfa_enabled", "email", "email_verified", "given_name"]
        let made = try ImportJobRules.user(
            row: ["Alice", "FALSE", "alice@example.com", "TRUE", "Alice"], columns: columns, pool: pool,
            sub: "11111111-1111-1111-1111-111111111111", now: 50)
        #expect(made.user.status == .resetRequired && made.user.verifier == nil && made.canonical == "Alice")
        #expect(made.user.attributes == ["email": "alice@example.com", "email_verified": "true", "given_name": "Alice"])
        #expect(made.user.createdAt == 50 && made.user.sub == "11111111-1111-1111-1111-111111111111")

        let refused: [([String], String)] = [
            (["bob", "false", "bob@example.com", "false", ""], "auto verified attributes"),
            (["bob", "false", "", "true", ""], "has no email"),
            (["bob", "maybe", "bob@example.com", "true", ""], "cognito:mfa_enabled must be true or false"),
            (["bob", "true", "bob@example.com", "true", ""], "MFA enabled"),
            (["", "false", "bob@example.com", "true", ""], "cognito:username is required"),
            (["bob", "false", "bob@example.com", "true"], "the header has 5"),
            (["bob", "false", "not-an-email", "true", ""], "Invalid email address format"),
        ]
        for (row, words) in refused {
            let error = RulesTests.refusal { () throws(PoolError) in
                _ = try ImportJobRules.user(row: row, columns: columns, pool: pool, sub: "s", now: 1)
            }
            #expect(error?.message.contains(words) == true, "\(row): \(String(describing: error))")
        }
    }

    @Test("job states: start needs Created, a file and an auto-verified attribute; a silent run fails after a minute")
    func states() throws {
        let pool = try Self.pool()
        var job = ImportJob(id: "import-1", poolId: pool.id, name: "j", roleArn: "r", createdAt: 1, uploadSecret: "s")
        #expect(RulesTests.refusal { () throws(PoolError) in try ImportJobRules.start(&job, pool: pool, runner: "r1", now: 2) }?.code == .preconditionNotMet)
        job.fileBytes = 10
        job.fileChunks = 1
        var noAuto = pool
        noAuto.autoVerifiedAttributes = []
        #expect(RulesTests.refusal { () throws(PoolError) in try ImportJobRules.start(&job, pool: noAuto, runner: "r1", now: 2) }?.code == .preconditionNotMet)
        try ImportJobRules.start(&job, pool: pool, runner: "r1", now: 2)
        #expect(job.status == .pending && job.runner == "r1" && job.startedAt == 2)
        #expect(RulesTests.refusal { () throws(PoolError) in try ImportJobRules.start(&job, pool: pool, runner: "r2", now: 3) }?.code == .preconditionNotMet)

        #expect(!ImportJobRules.expireStale(&job, now: 2 + ImportJobRules.staleSeconds))
        #expect(ImportJobRules.expireStale(&job, now: 3 + ImportJobRules.staleSeconds))
        #expect(job.status == .failed && job.runner == nil && job.completionMessage?.contains("no progress") == true)
        #expect(RulesTests.refusal { () throws(PoolError) in try ImportJobRules.stop(&job) }?.code == .preconditionNotMet)
        // Upload ids are fixed-length, so no upload's chunk keys extend another's.
        #expect(ImportJob.isUploadId("abcdefghij012345"))
        #expect(!ImportJob.isUploadId("abcdefghij01234") && !ImportJob.isUploadId("abcdefghij01234/"))
    }
}
