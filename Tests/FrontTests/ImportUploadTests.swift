import CognitoModel
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing
import UserPool

@testable import Front

/// The upload to an import job's URL: streamed into shard 0 a chunk at a time, one file per
/// URL, within 15 minutes of the job's creation; what an upload left behind is collected.
@Suite("Import-job uploads")
struct ImportUploadTests {
    static let role = "arn:aws:iam::123456789012:role/CognitoImport"

    /// A created job: its id and the path and query of its URL.
    func job(_ c: TestFront.Client, pool: String) async throws -> (id: String, path: String) {
        let job = try await c.call(
            CreateUserImportJobOperation.self,
            CreateUserImportJobRequest(jobName: "import", userPoolId: pool, cloudWatchLogsRoleArn: Self.role))
        let url = try #require(job.userImportJob?.preSignedUrl)
        return (job.userImportJob!.jobId!, String(url.dropFirst("http://localhost".count)))
    }

    func put(_ c: TestFront.Client, _ path: String, _ body: [UInt8]) async throws -> (Int, String) {
        let response = try await c.http.execute(
            uri: path, method: .put, headers: [.contentType: "text/csv"], body: ByteBuffer(bytes: body))
        return (Int(response.status.code), String(buffer: response.body))
    }

    func describe(_ c: TestFront.Client, _ pool: String, _ id: String) async throws -> UserImportJobType {
        try #require(
            try await c.call(
                DescribeUserImportJobOperation.self, DescribeUserImportJobRequest(userPoolId: pool, jobId: id)
            ).userImportJob)
    }

    func chunk(_ front: TestFront, _ job: String, upload: String, _ n: Int) async throws -> String? {
        guard
            case .chunk(let data) = try await front.api.store.query(
                PoolStore.metaShard, .importChunk(jobId: job, upload: upload, index: n))
        else { return nil }
        return data
    }

    func stored(_ front: TestFront, _ pool: String, _ id: String) async throws -> ImportJob {
        guard
            case .importJob(let job?) = try await front.api.store.query(
                PoolStore.metaShard, .importJob(poolId: pool, jobId: id))
        else { throw CancellationError() }
        return job
    }

    @Test("a file streams in chunks; the URL takes one file, and none after 15 minutes")
    func oneFileWithinTheURLsTime() async throws {
        let front = try TestFront()
        try await front.run { c in
            let pool = try await c.pool()
            let (id, path) = try await job(c, pool: pool)
            let file = Array(repeating: UInt8(ascii: "a"), count: ImportJobRules.chunkBytes * 2 + 100)
            let (status, text) = try await put(c, path, file)
            #expect(status == 200 && text.contains("stored \(file.count) bytes"), "\(status) \(text)")
            let record = try await stored(front, pool, id)
            #expect(record.fileChunks == 3 && record.fileBytes == Int64(file.count) && record.uploading == nil)
            let upload = try #require(record.fileUpload)
            let last = try #require(try await chunk(front, id, upload: upload, 2))
            #expect(Data(base64Encoded: last)?.count == 100)
            // Used: a second file is refused, and the first stays the job's.
            let (again, reason) = try await put(c, path, Array("other".utf8))
            #expect(again == 409 && reason.contains("used"), "\(again) \(reason)")
            #expect(try await stored(front, pool, id).fileUpload == upload)

            let (late, _) = try await job(c, pool: pool)
            let latePath = try await describe(c, pool, late).preSignedUrl!.dropFirst("http://localhost".count)
            front.clock.advance(Double(ImportJobRules.urlSeconds) + 1)
            let (expired, why) = try await put(c, String(latePath), Array("x".utf8))
            #expect(expired == 403 && why.contains("expired"), "\(expired) \(why)")
        }
    }

    @Test("more uploads than a front streams at once are answered 503 SlowDown")
    func boundedConcurrency() async throws {
        let front = try TestFront()
        try await front.run { c in
            let pool = try await c.pool()
            let (_, path) = try await job(c, pool: pool)
            for _ in 0..<front.api.uploads.limit { #expect(front.api.uploads.take()) }
            let (status, text) = try await put(c, path, Array("x".utf8))
            #expect(status == 503 && text.contains("SlowDown"), "\(status) \(text)")
            front.api.uploads.give()
            let (ok, _) = try await put(c, path, Array("x".utf8))
            #expect(ok == 200)
        }
    }

    @Test("an upload left behind (its front stopped) holds the URL two minutes, then is collected")
    func abandonedUploadsAreCollected() async throws {
        let front = try TestFront()
        try await front.run { c in
            let pool = try await c.pool()
            let (id, path) = try await job(c, pool: pool)
            // What a front that stopped mid-upload leaves: the mark and a chunk.
            let upload = "abandonedupload1"
            _ = try await front.api.store.proposeMeta(.beginImportUpload(poolId: pool, jobId: id, upload: upload))
            _ = try await front.api.store.proposeMeta(
                .putImportChunk(poolId: pool, jobId: id, upload: upload, index: 0, data: "YWJj"))
            let (busy, text) = try await put(c, path, Array("x".utf8))
            #expect(busy == 409 && text.contains("under way"), "\(busy) \(text)")
            #expect(try await chunk(front, id, upload: upload, 0) == "YWJj")
            front.clock.advance(Double(ImportJobRules.uploadStaleSeconds) + 1)
            await front.api.tendImportJobs()
            #expect(try await chunk(front, id, upload: upload, 0) == nil)
            #expect(try await stored(front, pool, id).uploading == nil)
            // A chunk of the collected upload no longer lands.
            await #expect(throws: PoolError.self) {
                _ = try await front.api.store.proposeMeta(
                    .putImportChunk(poolId: pool, jobId: id, upload: upload, index: 1, data: "YWJj"))
            }
            let (ok, _) = try await put(c, path, Array("x".utf8))
            #expect(ok == 200)
        }
    }

    @Test("an upload that breaks off leaves no chunk")
    func brokenUploadLeavesNothing() async throws {
        let front = try TestFront()
        try await front.run { c in
            let pool = try await c.pool()
            let (id, path) = try await job(c, pool: pool)
            struct BrokeOff: Error {}
            let parts = AsyncThrowingStream<[UInt8], any Error> { go in
                go.yield(Array(repeating: 1, count: ImportJobRules.chunkBytes + 10))
                go.finish(throwing: BrokeOff())
            }
            let outcome = await front.api.storeUpload(poolId: pool, jobId: id, body: parts)
            guard case .refused(400, _) = outcome else { throw CancellationError() }
            let record = try await stored(front, pool, id)
            #expect(record.uploading == nil && record.fileUpload == nil)
            for shard in [PoolStore.metaShard] {
                guard
                    case .importJobs(let all) = try await front.api.store.query(
                        shard, .allImportJobs(after: nil, limit: 10))
                else { throw CancellationError() }
                #expect(all.count == 1)
            }
            let (ok, _) = try await put(c, path, Array("x".utf8))
            #expect(ok == 200)
        }
    }

    @Test("a job not started within a day expires and its file goes, as Cognito's")
    func unstartedJobsExpire() async throws {
        let front = try TestFront()
        try await front.run { c in
            let pool = try await c.pool()
            let (id, path) = try await job(c, pool: pool)
            let (ok, _) = try await put(c, path, Array("cognito:username\r\nx\r\n".utf8))
            #expect(ok == 200)
            let upload = try #require(try await stored(front, pool, id).fileUpload)
            front.clock.advance(Double(ImportJobRules.expireSeconds) + 1)
            #expect(try await describe(c, pool, id).status == .expired)
            #expect(try await chunk(front, id, upload: upload, 0) == nil)
            let refused = try await c.failure(
                StartUserImportJobOperation.self, StartUserImportJobRequest(userPoolId: pool, jobId: id))
            #expect(refused.type == "PreconditionNotMetException")
        }
    }
}
