import AuthCrypto
import CognitoModel
import Foundation
import UserPool

/// Cognito's CSV user import jobs: create a job, upload its file to the job's pre-signed
/// URL (`PUT`, served by the front), start it; users arrive RESET_REQUIRED. A start runs the
/// job on the front that took it (`ImportJobRunner`), recording progress on shard 0; a job
/// whose front goes away is failed once it has made no progress for a minute.
extension API {
    func createUserImportJob(_ r: CreateUserImportJobRequest) async throws -> CreateUserImportJobResponse {
        if r.passwordHashingAlgorithm != nil {
            throw PoolError.notSupported("Importing password hashes (PasswordHashingAlgorithm)")
        }
        let pool = try await store.pool(r.userPoolId)
        let job = ImportJob(
            id: "import-" + Self.randomString("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", 10),
            poolId: pool.id, name: r.jobName, roleArn: r.cloudWatchLogsRoleArn, createdAt: now(),
            uploadSecret: Self.randomString("abcdefghijklmnopqrstuvwxyz0123456789", 40))
        _ = try await store.proposeMeta(.putImportJob(job, expect: .new))
        return CreateUserImportJobResponse(userImportJob: jobType(job))
    }

    func describeUserImportJob(_ r: DescribeUserImportJobRequest) async throws -> DescribeUserImportJobResponse {
        DescribeUserImportJobResponse(userImportJob: jobType(try await importJob(r.userPoolId, r.jobId)))
    }

    func listUserImportJobs(_ r: ListUserImportJobsRequest) async throws -> ListUserImportJobsResponse {
        let pool = try await store.pool(r.userPoolId)
        let max = ListRules.pageSize(r.maxResults)
        let query = UserPoolQuery.importJobs(poolId: pool.id, after: r.paginationToken, limit: max + 1)
        guard case .importJobs(let jobs) = try await store.query(PoolStore.metaShard, query) else {
            return ListUserImportJobsResponse(userImportJobs: [])
        }
        var page: [ImportJob] = []
        for job in jobs.prefix(max) { page.append(await expiringStale(job)) }
        return ListUserImportJobsResponse(
            userImportJobs: page.map(jobType), paginationToken: jobs.count > max ? page.last?.id : nil)
    }

    func startUserImportJob(_ r: StartUserImportJobRequest) async throws -> StartUserImportJobResponse {
        let pool = try await store.pool(r.userPoolId)
        var job = try await importJob(pool.id, r.jobId)
        let runner = Self.randomString("abcdefghijklmnopqrstuvwxyz0123456789", 16)
        try ImportJobRules.start(&job, pool: pool, runner: runner, now: now())
        try await putJob(job, expect: ImportJobExpectation(statuses: [.created]))
        let run = ImportJobRunner(api: self, poolId: pool.id, jobId: job.id, runner: runner)
        Task.detached { await run.run() }
        return StartUserImportJobResponse(userImportJob: jobType(job))
    }

    /// A job that moves from pending to running (or records progress) between the read and
    /// the write is still stoppable: the stop is read and tried again, a bounded number of times.
    func stopUserImportJob(_ r: StopUserImportJobRequest) async throws -> StopUserImportJobResponse {
        var attempt = 1
        while true {
            var job = try await importJob(r.userPoolId, r.jobId)
            let before = job.status
            try ImportJobRules.stop(&job)
            let expect = ImportJobExpectation(statuses: [before])
            if attempt == 5 {
                try await putJob(job, expect: expect)
            } else if try await putJobIfUnchanged(job, expect: expect) == false {
                attempt += 1
                continue
            }
            return StopUserImportJobResponse(userImportJob: jobType(job))
        }
    }

    // MARK: Helpers

    /// A job of a pool (a linearizable read), failed first if its run went away.
    func importJob(_ poolId: String, _ jobId: String) async throws -> ImportJob {
        _ = try await store.pool(poolId)
        guard
            case .importJob(let job?) = try await store.query(
                PoolStore.metaShard, .importJob(poolId: poolId, jobId: jobId))
        else {
            throw PoolError(.resourceNotFound, "Import job \(jobId) does not exist.")
        }
        return await expiringStale(job)
    }

    /// `job`, marked failed (and written so) when its run made no progress for a minute, or
    /// expired (its file deleted) when it was created a day ago and never started; an upload
    /// to it that stored nothing for two minutes is dropped.
    func expiringStale(_ job: ImportJob) async -> ImportJob {
        if let upload = ImportJobRules.abandonedUpload(job, now: now()) {
            await abortUpload(poolId: job.poolId, jobId: job.id, upload: upload)
        }
        var expired = job
        if ImportJobRules.expireUnstarted(&expired, now: now()) {
            do {
                let expect = ImportJobExpectation(statuses: [.created])
                _ = try await store.proposeMeta(.putImportJob(expired, expect: expect))
                _ = try await store.proposeMeta(.deleteImportChunks(jobId: job.id, upload: nil))
                return expired
            } catch {
                return job
            }
        }
        guard ImportJobRules.expireStale(&expired, now: now()) else { return job }
        let expect = ImportJobExpectation(statuses: [job.status], runner: job.runner)
        // Another front may have written it first; what it wrote is read next time.
        _ = try? await store.proposeMeta(.putImportJob(expired, expect: expect))
        return expired
    }

    /// Writes `job` if the stored one meets `expect`; a job that changed meanwhile is a
    /// precondition the caller did not meet.
    func putJob(_ job: ImportJob, expect: ImportJobExpectation) async throws {
        do {
            _ = try await store.proposeMeta(.putImportJob(job, expect: expect))
        } catch let e where e.code == .conflict {
            throw PoolError(.preconditionNotMet, e.message)
        }
    }

    /// Writes `job` if the stored one meets `expect`; false if it changed meanwhile.
    func putJobIfUnchanged(_ job: ImportJob, expect: ImportJobExpectation) async throws -> Bool {
        do {
            _ = try await store.proposeMeta(.putImportJob(job, expect: expect))
            return true
        } catch let e where e.code == .conflict {
            return false
        }
    }

    func uploadURL(_ job: ImportJob) -> String {
        "\(auth.publicURL)/_cognate/import/\(job.poolId)/\(job.id)?secret=\(job.uploadSecret)"
    }

    func jobType(_ job: ImportJob) -> UserImportJobType {
        UserImportJobType(
            jobName: job.name, jobId: job.id, userPoolId: job.poolId, preSignedUrl: uploadURL(job),
            creationDate: date(job.createdAt), startDate: job.startedAt.map(date),
            completionDate: job.completedAt.map(date), status: job.status, cloudWatchLogsRoleArn: job.roleArn,
            importedUsers: job.imported, skippedUsers: job.skipped, failedUsers: job.failed,
            completionMessage: job.completionMessage)
    }

    // MARK: The upload

    /// What an upload to a job's URL gets: done, or an HTTP status with a reason.
    public enum UploadOutcome: Sendable, Equatable {
        case stored(bytes: Int, chunks: Int)
        case refused(status: Int, reason: String)
    }

    /// Checks the URL's secret and the job before any of the body is read: the URL works 15
    /// minutes after the job's creation, for one file.
    public func admitUpload(poolId: String, jobId: String, secret: String) async -> UploadOutcome? {
        let job: ImportJob
        do {
            guard
                case .importJob(let j?) = try await store.query(
                    PoolStore.metaShard, .importJob(poolId: poolId, jobId: jobId))
            else { return .refused(status: 404, reason: "no such import job") }
            job = j
        } catch {
            return .refused(status: 503, reason: "\(error)")
        }
        guard constantTimeEqual(Array(secret.utf8), Array(job.uploadSecret.utf8)) else {
            return .refused(status: 403, reason: "the URL's secret is not the job's")
        }
        if let (status, reason) = ImportJobRules.uploadRefusal(job, now: now()) {
            return .refused(status: status, reason: reason)
        }
        return nil
    }

    /// Streams an uploaded file into the job's chunks on shard 0 as it arrives (at most one
    /// chunk held here), then makes it the job's file. The job takes one upload at a time
    /// and one file; an upload that fails is dropped at once, one whose front went away is
    /// collected once it is stale (`tendImportJobs`).
    public func storeUpload<Body: AsyncSequence>(
        poolId: String, jobId: String, body: Body
    ) async -> UploadOutcome where Body.Element == [UInt8] {
        let upload = Self.randomString("abcdefghijklmnopqrstuvwxyz0123456789", 16)
        do {
            _ = try await store.proposeMeta(.beginImportUpload(poolId: poolId, jobId: jobId, upload: upload))
        } catch {
            switch error.code {
            case .resourceNotFound: return .refused(status: 404, reason: error.message)
            case .preconditionNotMet: return .refused(status: 409, reason: error.message)
            default: return .refused(status: 503, reason: "\(error)")
            }
        }
        var chunks = 0
        var bytes = 0
        var pending: [UInt8] = []
        pending.reserveCapacity(ImportJobRules.chunkBytes)
        func storeChunk(_ chunk: ArraySlice<UInt8>) async throws {
            _ = try await self.store.proposeMeta(
                .putImportChunk(
                    poolId: poolId, jobId: jobId, upload: upload, index: chunks,
                    data: Data(chunk).base64EncodedString()))
            chunks += 1
        }
        do {
            for try await part in body {
                bytes += part.count
                guard bytes <= ImportJobRules.maxFileBytes else {
                    await abortUpload(poolId: poolId, jobId: jobId, upload: upload)
                    return .refused(status: 413, reason: "the file is over \(ImportJobRules.maxFileBytes) bytes")
                }
                pending += part
                while pending.count >= ImportJobRules.chunkBytes {
                    try await storeChunk(pending[..<ImportJobRules.chunkBytes])
                    pending.removeFirst(ImportJobRules.chunkBytes)
                }
            }
            if !pending.isEmpty { try await storeChunk(pending[...]) }
            _ = try await self.store.proposeMeta(
                .finishImportUpload(poolId: poolId, jobId: jobId, upload: upload, bytes: Int64(bytes), chunks: chunks))
            return .stored(bytes: bytes, chunks: chunks)
        } catch let e as PoolError where e.code == .preconditionNotMet {
            await abortUpload(poolId: poolId, jobId: jobId, upload: upload)
            return .refused(status: 409, reason: e.message)
        } catch let e as PoolError {
            await abortUpload(poolId: poolId, jobId: jobId, upload: upload)
            return .refused(status: 503, reason: e.message)
        } catch {
            // The client's body ended early or broke off.
            await abortUpload(poolId: poolId, jobId: jobId, upload: upload)
            return .refused(status: 400, reason: "the upload broke off: \(error)")
        }
    }

    /// Drops an upload's chunks (an upload left behind is collected later if this fails).
    func abortUpload(poolId: String, jobId: String, upload: String) async {
        _ = try? await store.proposeMeta(.abortImportUpload(poolId: poolId, jobId: jobId, upload: upload))
    }

    /// Tends every pool's jobs, a page at a time: runs gone quiet are failed, uploads gone
    /// quiet are dropped, jobs never started expire (each `expiringStale`). A front calls it
    /// every minute, so nothing left behind by a front that stopped stays.
    public func tendImportJobs() async {
        var after: String?
        while true {
            guard
                case .importJobs(let jobs) = try? await store.query(
                    PoolStore.metaShard, .allImportJobs(after: after, limit: 200))
            else { return }
            for job in jobs { _ = await expiringStale(job) }
            guard jobs.count == 200, let last = jobs.last else { return }
            after = "\(last.poolId)/\(last.id)"
        }
    }
}

/// Counts the uploads a front streams at once.
final class UploadSlots: @unchecked Sendable {
    private let lock = NSLock()
    private var used = 0
    let limit: Int

    init(_ limit: Int) { self.limit = limit }

    /// Takes a slot (false: all taken).
    func take() -> Bool {
        lock.withLock {
            guard used < limit else { return false }
            used += 1
            return true
        }
    }

    func give() { lock.withLock { used -= 1 } }
}
