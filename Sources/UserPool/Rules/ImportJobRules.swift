import CognitoModel
import Foundation

/// Cognito's CSV user import jobs: the job's states, the file's format, and what a row must
/// hold to become a user (in RESET_REQUIRED, with no password).
public enum ImportJobRules {
    /// The largest file a job takes (Cognito's limit).
    public static let maxFileBytes = 100 << 20
    /// The file is stored in chunks of this many bytes on shard 0.
    public static let chunkBytes = 512 << 10
    /// A row longer than this stops the job: no user record comes near it.
    public static let maxRowBytes = 64 << 10
    /// A run that recorded no progress for this long has stopped (its front went away).
    public static let staleSeconds: Int64 = 60
    /// The job's upload URL works this long after the job is created (Cognito's pre-signed
    /// URL: 15 minutes).
    public static let urlSeconds: Int64 = 900
    /// An upload that stored no chunk for this long was abandoned: its chunks are collected.
    public static let uploadStaleSeconds: Int64 = 120
    /// Uploads a front streams at once; more are answered 503 (S3's SlowDown).
    public static let uploadsPerFront = 4
    /// A created job not started within this long expires, its file deleted (Cognito: 24–48
    /// hours).
    public static let expireSeconds: Int64 = 86_400

    /// Why the job's URL takes no upload now (nil: it does). `now` in seconds.
    public static func uploadRefusal(_ job: ImportJob, now: Int64) -> (status: Int, reason: String)? {
        guard job.status == .created else { return (409, "the import job is \(job.status); it takes no file now") }
        guard now - job.createdAt <= urlSeconds else {
            return (403, "the URL expired \(urlSeconds / 60) minutes after the job was created; create a new job")
        }
        guard job.fileUpload == nil else { return (409, "the URL was used: the job has its file") }
        if job.uploading != nil, let beat = job.uploadBeat, now - beat <= uploadStaleSeconds {
            return (409, "an upload to this URL is under way")
        }
        return nil
    }

    /// Marks `upload` as the job's upload under way; returns an abandoned one whose chunks
    /// go.
    public static func beginUpload(_ job: inout ImportJob, upload: String, now: Int64) throws(PoolError) -> String? {
        if let (_, reason) = uploadRefusal(job, now: now) {
            throw PoolError(.preconditionNotMet, "Import job \(job.id): \(reason).")
        }
        let abandoned = job.uploading
        job.uploading = upload
        job.uploadBeat = now
        return abandoned
    }

    /// An upload that stored nothing for `uploadStaleSeconds`: its id (nil: none, or alive).
    public static func abandonedUpload(_ job: ImportJob, now: Int64) -> String? {
        guard let upload = job.uploading, let beat = job.uploadBeat, now - beat > uploadStaleSeconds else { return nil }
        return upload
    }

    /// A created job not started within `expireSeconds`: expired, as Cognito's.
    public static func expireUnstarted(_ job: inout ImportJob, now: Int64) -> Bool {
        guard job.status == .created, now - job.createdAt > expireSeconds else { return false }
        job.status = .expired
        job.completedAt = now
        job.uploading = nil
        job.uploadBeat = nil
        return true
    }

    /// StartUserImportJob: only a created job with its file uploaded, into a pool with an
    /// auto-verified attribute (reset codes go to a verified email or phone).
    public static func start(_ job: inout ImportJob, pool: Pool, runner: String, now: Int64) throws(PoolError) {
        guard job.status == .created else {
            throw PoolError(
                .preconditionNotMet, "The import job \(job.id) is \(job.status); only a job in Created starts.")
        }
        guard job.fileBytes != nil else {
            throw PoolError(.preconditionNotMet, "No CSV file was uploaded to the import job's pre-signed URL.")
        }
        guard !pool.autoVerifiedAttributes.isEmpty else {
            throw PoolError(
                .preconditionNotMet,
                "The user pool has no auto-verified attributes: imported users could not receive a reset code.")
        }
        job.status = .pending
        job.startedAt = now
        job.runner = runner
        job.heartbeat = now
    }

    /// StopUserImportJob: a pending or running job stops at its next progress record.
    public static func stop(_ job: inout ImportJob) throws(PoolError) {
        guard job.status == .pending || job.status == .inProgress else {
            throw PoolError(
                .preconditionNotMet, "The import job \(job.id) is \(job.status); only a pending or running job stops.")
        }
        job.status = .stopping
    }

    /// A pending or running job whose run stopped recording progress: failed, as it stands.
    public static func expireStale(_ job: inout ImportJob, now: Int64) -> Bool {
        guard job.status == .pending || job.status == .inProgress || job.status == .stopping,
            let beat = job.heartbeat, now - beat > staleSeconds
        else { return false }
        let rows = job.imported + job.skipped + job.failed
        job.status = job.status == .stopping ? .stopped : .failed
        job.completedAt = now
        job.completionMessage =
            "The import stopped after \(rows) users: the front running it made no progress for "
            + "\(staleSeconds) seconds. Users imported so far stay; start a new job for the rest."
        job.runner = nil
        return true
    }

    // MARK: The file

    /// Checks the header row against the pool's (GetCSVHeader): every column present once,
    /// no other, in any order.
    public static func checkHeader(_ columns: [String], pool: Pool) throws(PoolError) {
        let expected = Set(CSVImportRules.header(pool))
        var seen = Set<String>()
        var problems: [String] = []
        for c in columns {
            if !expected.contains(c) { problems.append("unknown column \(c)") }
            if !seen.insert(c).inserted { problems.append("column \(c) appears twice") }
        }
        let missing = expected.subtracting(seen).sorted()
        if !missing.isEmpty { problems.append("missing columns \(missing.joined(separator: ", "))") }
        guard problems.isEmpty else {
            throw PoolError(
                .invalidParameter,
                "The CSV header is not the user pool's (GetCSVHeader): \(problems.joined(separator: "; ")).")
        }
    }

    /// The user a row makes, or why it is refused (the row fails; the job goes on).
    public static func user(
        row: [String], columns: [String], pool: Pool, sub: String, now: Int64
    ) throws(PoolError) -> (user: User, canonical: String) {
        guard row.count == columns.count else {
            throw PoolError(.invalidParameter, "The row has \(row.count) values; the header has \(columns.count).")
        }
        var attributes: [String: String] = [:]
        for (c, v) in zip(columns, row) where !v.isEmpty { attributes[c] = v }
        guard let name = attributes.removeValue(forKey: "cognito:username") else {
            throw PoolError(.invalidParameter, "cognito:username is required.")
        }
        if !AdminGetUserRequest(userPoolId: pool.id, username: name).validationFailures().isEmpty {
            throw PoolError(.invalidParameter, "cognito:username is not a valid username.")
        }
        switch attributes.removeValue(forKey: "cognito:mfa_enabled")?.lowercased() {
        case "false": break
        case "true": throw PoolError.notSupported("Importing users with MFA enabled (cognito:mfa_enabled)")
        default: throw PoolError(.invalidParameter, "cognito:mfa_enabled must be true or false.")
        }
        for flag in ["email_verified", "phone_number_verified"] {
            guard let v = attributes[flag] else { continue }
            guard v.lowercased() == "true" || v.lowercased() == "false" else {
                throw PoolError(.invalidParameter, "\(flag) must be true or false.")
            }
            attributes[flag] = v.lowercased()
        }
        let emailVerified = attributes["email_verified"] == "true"
        let phoneVerified = attributes["phone_number_verified"] == "true"
        if emailVerified && attributes["email"] == nil {
            throw PoolError(.invalidParameter, "email_verified is true, but the row has no email.")
        }
        if phoneVerified && attributes["phone_number"] == nil {
            throw PoolError(.invalidParameter, "phone_number_verified is true, but the row has no phone_number.")
        }
        let auto = pool.autoVerifiedAttributes
        let verified = (auto.contains(.email) && emailVerified) || (auto.contains(.phoneNumber) && phoneVerified)
        guard verified else {
            throw PoolError(
                .invalidParameter,
                "The User Record does not set any of the auto verified attributes to true. (Example: email_verified "
                    + "to true).")
        }
        attributes = try AttributeRules.validate(attributes, pool: pool, writer: .creating(byAdmin: true))
        let (stored, sub) = try UserRules.identity(for: name, in: pool, attributes: &attributes, newSub: sub)
        let user = User(
            poolId: pool.id, username: stored, sub: sub, attributes: attributes, status: .resetRequired, enabled: true,
            createdAt: now, modifiedAt: now, verifier: nil, temporaryPasswordExpiresAt: nil, failedAttempts: 0,
            lockedUntil: nil, lastFailureAt: nil, version: 1)
        return (user, PoolRules.canonical(stored, in: pool))
    }
}

/// Reads CSV (RFC 4180: commas, double-quoted fields with `""` for a quote, LF or CRLF line
/// ends; a UTF-8 byte order mark first is skipped) from bytes fed in any pieces, and hands
/// over each row with its row number. Blank lines are skipped. A row over
/// `ImportJobRules.maxRowBytes`, a stray quote or an unterminated quoted field stops it.
public struct CSVRowReader {
    public struct Malformed: Error, CustomStringConvertible {
        public var description: String
    }

    enum State { case fieldStart, unquoted, quoted, quoteInQuoted, afterQuoted }

    var state = State.fieldStart
    var field: [UInt8] = []
    var row: [String] = []
    var rowBytes = 0
    var atStart = true
    var bomSeen = 0
    /// The number of the row being read (the first is 1).
    public private(set) var rowNumber: Int64 = 1

    public init() {}

    public mutating func feed(_ bytes: some Collection<UInt8>, _ emit: (Int64, [String]) throws -> Void) throws {
        for b in bytes {
            if atStart {
                // A byte order mark (EF BB BF) before the first row.
                let bom: [UInt8] = [0xEF, 0xBB, 0xBF]
                if b == bom[bomSeen] {
                    bomSeen += 1
                    if bomSeen == 3 { atStart = false }
                    continue
                }
                atStart = false
                if bomSeen > 0 { field.append(contentsOf: bom.prefix(bomSeen)) }
            }
            rowBytes += 1
            if rowBytes > ImportJobRules.maxRowBytes {
                throw Malformed(description: "row \(rowNumber) is longer than \(ImportJobRules.maxRowBytes) bytes")
            }
            switch state {
            case .quoted:
                if b == UInt8(ascii: "\"") { state = .quoteInQuoted } else { field.append(b) }
            case .quoteInQuoted:
                if b == UInt8(ascii: "\"") {
                    field.append(b)
                    state = .quoted
                } else {
                    state = .afterQuoted
                    try separator(b, emit)
                }
            case .afterQuoted:
                try separator(b, emit)
            case .fieldStart:
                if b == UInt8(ascii: "\"") {
                    state = .quoted
                } else {
                    state = .unquoted
                    try plain(b, emit)
                }
            case .unquoted:
                try plain(b, emit)
            }
        }
    }

    /// The end of the file: the last row, if it had no line end.
    public mutating func finish(_ emit: (Int64, [String]) throws -> Void) throws {
        switch state {
        case .quoted:
            throw Malformed(description: "row \(rowNumber) ends inside a quoted field")
        case .fieldStart where row.isEmpty && field.isEmpty:
            return
        default:
            try endRow(emit)
        }
    }

    private mutating func plain(_ b: UInt8, _ emit: (Int64, [String]) throws -> Void) throws {
        switch b {
        case UInt8(ascii: ","), UInt8(ascii: "\n"), UInt8(ascii: "\r"): try separator(b, emit)
        case UInt8(ascii: "\""): throw Malformed(description: "row \(rowNumber) has a quote inside an unquoted field")
        default: field.append(b)
        }
    }

    private mutating func separator(_ b: UInt8, _ emit: (Int64, [String]) throws -> Void) throws {
        switch b {
        case UInt8(ascii: ","):
            row.append(String(decoding: field, as: UTF8.self))
            field = []
            state = .fieldStart
        case UInt8(ascii: "\n"):
            try endRow(emit)
        case UInt8(ascii: "\r"):
            // The CR of a CRLF: the LF ends the row.
            break
        default:
            throw Malformed(description: "row \(rowNumber) has text after a quoted field's closing quote")
        }
    }

    private mutating func endRow(_ emit: (Int64, [String]) throws -> Void) throws {
        row.append(String(decoding: field, as: UTF8.self))
        let done = row
        field = []
        row = []
        state = .fieldStart
        rowBytes = 0
        if done == [""] { return }
        let number = rowNumber
        rowNumber += 1
        try emit(number, done)
    }
}
