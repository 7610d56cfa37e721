import CognitoModel
import Foundation
import UserPool

/// Runs a started import job on this front: reads the file's chunks from shard 0 in order,
/// checks the header, and writes each row's user (RESET_REQUIRED, no password) through the
/// same claimed write as a new user, `concurrency` at a time. Progress (the counts, and a
/// heartbeat) is written to the job at least every two seconds, as a compare-and-set on the
/// job's status and this run's id: a stop request turns up as a failed write, after which
/// the run marks the job stopped and ends.
struct ImportJobRunner: Sendable {
    let api: API
    let poolId: String
    let jobId: String
    let runner: String
    var concurrency = 16

    /// Why the run ends before the file does.
    enum Halt: Error {
        /// Stopped (StopUserImportJob) or taken from this run: the job says what happened.
        case superseded
        /// The file cannot be read: the job fails with this message.
        case failed(String)
    }

    struct Progress {
        var imported: Int64 = 0
        var skipped: Int64 = 0
        var failed: Int64 = 0
        var firstFailure: String?
    }

    func run() async {
        var progress = Progress()
        do {
            var job = try await api.importJob(poolId, jobId)
            guard job.status == .pending, job.runner == runner else { return }
            job.status = .inProgress
            job.heartbeat = api.now()
            try await write(job, from: .pending)
            try await importRows(job, &progress)
            try await finish(.succeeded, progress, message: Self.summary(progress))
        } catch Halt.superseded {
            await settleStop(progress)
        } catch Halt.failed(let message) {
            try? await finish(.failed, progress, message: message)
        } catch {
            try? await finish(.failed, progress, message: "The import stopped: \(error)")
        }
    }

    func importRows(_ job: ImportJob, _ progress: inout Progress) async throws {
        let pool = try await api.store.pool(poolId)
        var reader = CSVRowReader()
        var columns: [String]?
        var lastWrite = api.now()
        for index in 0..<(job.fileChunks ?? 0) {
            guard
                case .chunk(let text?) = try await api.store.query(
                    PoolStore.metaShard, .importChunk(jobId: jobId, upload: job.fileUpload ?? "", index: index)),
                let chunk = Data(base64Encoded: text)
            else { throw Halt.failed("The CSV file's part \(index) is missing.") }
            var rows: [(Int64, [String])] = []
            do {
                try reader.feed(chunk) { rows.append(($0, $1)) }
                if index == (job.fileChunks ?? 0) - 1 { try reader.finish { rows.append(($0, $1)) } }
            } catch let e as CSVRowReader.Malformed {
                throw Halt.failed("Amazon Cognito is unable to parse the .csv file: \(e.description).")
            }
            if columns == nil, let header = rows.first {
                do {
                    try ImportJobRules.checkHeader(header.1, pool: pool)
                } catch {
                    throw Halt.failed(error.message)
                }
                columns = header.1
                rows.removeFirst()
            }
            guard let columns else { continue }
            var start = 0
            while start < rows.count {
                let batch = Array(rows[start..<min(rows.count, start + 256)])
                start += batch.count
                await importBatch(batch, columns: columns, pool: pool, &progress)
                if api.now() - lastWrite >= 2 {
                    try await recordProgress(progress)
                    lastWrite = api.now()
                }
            }
        }
        guard columns != nil else { throw Halt.failed("The CSV file has no header row.") }
    }

    enum RowOutcome {
        case imported, skipped
        case failed(String)
    }

    func importBatch(_ rows: [(Int64, [String])], columns: [String], pool: Pool, _ progress: inout Progress) async {
        let outcomes = await withTaskGroup(of: (Int64, RowOutcome).self) { group in
            var outcomes: [(Int64, RowOutcome)] = []
            for (i, (number, row)) in rows.enumerated() {
                if i >= concurrency, let done = await group.next() { outcomes.append(done) }
                group.addTask { (number, await importRow(row, columns: columns, pool: pool)) }
            }
            for await done in group { outcomes.append(done) }
            return outcomes
        }
        for (number, outcome) in outcomes.sorted(by: { $0.0 < $1.0 }) {
            switch outcome {
            case .imported: progress.imported += 1
            case .skipped: progress.skipped += 1
            case .failed(let why):
                progress.failed += 1
                if progress.firstFailure == nil { progress.firstFailure = "line \(number): \(why)" }
            }
        }
    }

    func importRow(_ row: [String], columns: [String], pool: Pool) async -> RowOutcome {
        let made: (user: User, canonical: String)
        do {
            made = try ImportJobRules.user(row: row, columns: columns, pool: pool, sub: API.newSub(), now: api.now())
        } catch {
            return .failed(error.message)
        }
        for attempt in 1...5 {
            do {
                _ = try await api.insertClaimed(
                    pool: pool, canonical: made.canonical, attributes: made.user.attributes, now: api.now()
                ) { .createUser(made.user, canonical: made.canonical) }
                return .imported
            } catch let e as PoolError where e.code == .usernameExists {
                return .skipped
            } catch let e as PoolError where e.code == .unavailable && attempt < 5 {
                try? await Task.sleep(for: .milliseconds(200 * attempt))
            } catch let e as PoolError {
                return .failed(e.message)
            } catch {
                return .failed("\(error)")
            }
        }
        return .failed("the user's shard stayed unavailable")
    }

    // MARK: Writing the job

    func write(_ job: ImportJob, from status: UserImportJobStatusType) async throws {
        do {
            _ = try await api.store.proposeMeta(
                .putImportJob(job, expect: ImportJobExpectation(statuses: [status], runner: runner)))
        } catch let e where e.code == .conflict {
            throw Halt.superseded
        }
    }

    func recordProgress(_ progress: Progress) async throws {
        var job = try await api.importJob(poolId, jobId)
        guard job.status == .inProgress, job.runner == runner else { throw Halt.superseded }
        apply(progress, to: &job)
        try await write(job, from: .inProgress)
    }

    func finish(_ status: UserImportJobStatusType, _ progress: Progress, message: String) async throws {
        var job = try await api.importJob(poolId, jobId)
        guard job.runner == runner, job.status == .inProgress || job.status == .pending else {
            throw Halt.superseded
        }
        let from = job.status
        apply(progress, to: &job)
        job.status = status
        job.completedAt = api.now()
        job.completionMessage = message
        job.runner = nil
        try await write(job, from: from)
        _ = try? await api.store.proposeMeta(.deleteImportChunks(jobId: jobId, upload: nil))
    }

    /// A stop request won the race with a progress write: the job ends stopped, with the
    /// counts so far.
    func settleStop(_ progress: Progress) async {
        guard var job = try? await api.importJob(poolId, jobId), job.status == .stopping, job.runner == runner
        else { return }
        apply(progress, to: &job)
        job.status = .stopped
        job.completedAt = api.now()
        job.completionMessage = "Stopped by StopUserImportJob. " + Self.summary(progress)
        job.runner = nil
        try? await write(job, from: .stopping)
        _ = try? await api.store.proposeMeta(.deleteImportChunks(jobId: jobId, upload: nil))
    }

    func apply(_ progress: Progress, to job: inout ImportJob) {
        job.imported = progress.imported
        job.skipped = progress.skipped
        job.failed = progress.failed
        job.heartbeat = api.now()
    }

    static func summary(_ p: Progress) -> String {
        var text = "Imported \(p.imported) users, skipped \(p.skipped) that already existed, \(p.failed) failed."
        if let first = p.firstFailure { text += " First failure: \(first)" }
        return text
    }
}
