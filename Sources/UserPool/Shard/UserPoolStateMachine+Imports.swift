import Foundation
import Sharding
import Storage

/// Shard 0's import jobs: compare-and-set writes of a job, and its file's chunks.
extension UserPoolStateMachine {
    func applyImport(_ cmd: UserPoolCommand, _ ctx: Context, _ txn: borrowing WriteTransaction) throws -> UserPoolReply
    {
        typealias K = UserPoolKeys
        switch cmd {
        case .putImportJob(let job, let expect):
            let stored = try ctx.load(K.importJob(job.poolId, job.id), as: ImportJob.self, txn)
            if let stored {
                guard expect.statuses.contains(stored.status), expect.runner == nil || expect.runner == stored.runner
                else {
                    return .error(PoolError(.conflict, "The import job \(job.id) is \(stored.status)."))
                }
            } else {
                guard expect.statuses.isEmpty else {
                    return .error(PoolError(.resourceNotFound, "Import job \(job.id) does not exist."))
                }
                guard try ctx.contains(K.pool(job.poolId), txn) else { return .error(Self.noPool(job.poolId)) }
            }
            try ctx.store(K.importJob(job.poolId, job.id), job, txn)
            return .importJob(job)
        case .beginImportUpload(let poolId, let jobId, let upload):
            guard ImportJob.isUploadId(upload) else {
                return .error(PoolError(.invalidParameter, "not an upload id"))
            }
            guard var job = try ctx.load(K.importJob(poolId, jobId), as: ImportJob.self, txn) else {
                return .error(PoolError(.resourceNotFound, "Import job \(jobId) does not exist."))
            }
            let abandoned: String?
            do throws(PoolError) {
                abandoned = try ImportJobRules.beginUpload(&job, upload: upload, now: ctx.seconds)
            } catch {
                return .error(error)
            }
            if let abandoned { _ = try applyImport(.deleteImportChunks(jobId: jobId, upload: abandoned), ctx, txn) }
            try ctx.store(K.importJob(poolId, jobId), job, txn)
            return .importJob(job)
        case .finishImportUpload(let poolId, let jobId, let upload, let bytes, let chunks):
            guard var job = try ctx.load(K.importJob(poolId, jobId), as: ImportJob.self, txn),
                job.status == .created, job.uploading == upload
            else {
                return .error(PoolError(.preconditionNotMet, "The upload to import job \(jobId) is not under way."))
            }
            job.uploading = nil
            job.uploadBeat = nil
            job.fileUpload = upload
            job.fileBytes = bytes
            job.fileChunks = chunks
            try ctx.store(K.importJob(poolId, jobId), job, txn)
            return .importJob(job)
        case .abortImportUpload(let poolId, let jobId, let upload):
            guard ImportJob.isUploadId(upload) else {
                return .error(PoolError(.invalidParameter, "not an upload id"))
            }
            _ = try applyImport(.deleteImportChunks(jobId: jobId, upload: upload), ctx, txn)
            if var job = try ctx.load(K.importJob(poolId, jobId), as: ImportJob.self, txn), job.uploading == upload {
                job.uploading = nil
                job.uploadBeat = nil
                try ctx.store(K.importJob(poolId, jobId), job, txn)
            }
            return .ok
        case .putImportChunk(let poolId, let jobId, let upload, let index, let data):
            guard var job = try ctx.load(K.importJob(poolId, jobId), as: ImportJob.self, txn),
                job.status == .created, job.uploading == upload
            else {
                return .error(PoolError(.preconditionNotMet, "The import job \(jobId) takes no file now."))
            }
            let maxChunks = ImportJobRules.maxFileBytes / ImportJobRules.chunkBytes
            guard (0..<maxChunks).contains(index), ImportJob.isUploadId(upload), let bytes = Data(base64Encoded: data),
                bytes.count <= ImportJobRules.chunkBytes
            else {
                return .error(PoolError(.invalidParameter, "not a chunk of an import file"))
            }
            try txn.put(ctx.key(K.importChunk(jobId, upload, index)), Array(bytes), in: ctx.tables.data)
            job.uploadBeat = ctx.seconds
            try ctx.store(K.importJob(poolId, jobId), job, txn)
            return .ok
        case .deleteImportChunks(let jobId, let upload):
            let prefix = upload.map { K.importUploadPrefix(jobId, $0) } ?? K.importChunkPrefix(jobId)
            _ = try txn.deleteRange(ctx.tables.data, from: ctx.key(prefix), to: ctx.key(K.end(of: prefix)))
            return .ok
        default:
            throw PoolError(.internalError, "not an import command")
        }
    }
}
