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

    /// `job`, marked failed (and written so) when its run made no progress for a minute.
    func expiringStale(_ job: ImportJob) async -> ImportJob {
        var expired = job
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

    /// Checks the URL's secret and the job before any of the body is read.
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
        guard job.status == .created else {
            return .refused(status: 409, reason: "the import job is \(job.status); it takes no file now")
        }
        return nil
    }

    /// Stores an uploaded file as the job's (replacing an earlier upload), in chunks, then
    /// records its size on the job.
    public func storeUpload(poolId: String, jobId: String, file: [UInt8]) async -> UploadOutcome {
        guard file.count <= ImportJobRules.maxFileBytes else {
            return .refused(status: 413, reason: "the file is over \(ImportJobRules.maxFileBytes) bytes")
        }
        // Each upload's chunks are its own: two at once never mix, and the one the job
        // records last is the file; the one it replaces is dropped.
        let upload = Self.randomString("abcdefghijklmnopqrstuvwxyz0123456789", 16)
        do {
            var chunks = 0
            var offset = 0
            while offset < file.count {
                let end = min(file.count, offset + ImportJobRules.chunkBytes)
                let data = Data(file[offset..<end]).base64EncodedString()
                _ = try await store.proposeMeta(
                    .putImportChunk(poolId: poolId, jobId: jobId, upload: upload, index: chunks, data: data))
                chunks += 1
                offset = end
            }
            guard
                case .importJob(var job?) = try await store.query(
                    PoolStore.metaShard, .importJob(poolId: poolId, jobId: jobId))
            else { return .refused(status: 404, reason: "no such import job") }
            let replaced = job.fileUpload
            job.fileBytes = Int64(file.count)
            job.fileChunks = chunks
            job.fileUpload = upload
            try await putJob(job, expect: ImportJobExpectation(statuses: [.created]))
            if let replaced { _ = try? await store.proposeMeta(.deleteImportChunks(jobId: jobId, upload: replaced)) }
            return .stored(bytes: file.count, chunks: chunks)
        } catch let e as PoolError where e.code == .preconditionNotMet {
            return .refused(status: 409, reason: e.message)
        } catch {
            return .refused(status: 503, reason: "\(error)")
        }
    }
}
