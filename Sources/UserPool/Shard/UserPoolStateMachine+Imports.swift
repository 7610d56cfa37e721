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
        case .putImportChunk(let poolId, let jobId, let upload, let index, let data):
            guard let job = try ctx.load(K.importJob(poolId, jobId), as: ImportJob.self, txn), job.status == .created
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
