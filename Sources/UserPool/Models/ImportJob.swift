import CognitoModel

/// A CSV user import job (CreateUserImportJob), on shard 0 with its uploaded file in chunks.
public struct ImportJob: Codable, Sendable, Equatable {
    public var id: String
    public var poolId: String
    public var name: String
    public var roleArn: String
    public var status: UserImportJobStatusType
    public var createdAt: Int64
    public var startedAt: Int64?
    public var completedAt: Int64?
    public var imported: Int64 = 0
    public var skipped: Int64 = 0
    public var failed: Int64 = 0
    public var completionMessage: String?
    /// The secret in the upload URL (which, as in Cognito, every description of the job shows).
    public var uploadSecret: String
    /// Set once a file is uploaded: its size, the number of stored chunks, and the upload
    /// they belong to (two uploads at once never mix: the last one recorded is the file).
    public var fileBytes: Int64?
    public var fileChunks: Int?
    public var fileUpload: String?
    /// The upload under way (its id) and when it last stored a chunk: the URL takes one
    /// file, one upload at a time.
    public var uploading: String?
    public var uploadBeat: Int64?
    /// The run that owns the job (a random id) and when it last recorded progress.
    public var runner: String?
    public var heartbeat: Int64?
    /// Where the run has got to: the next chunk and byte in it that starts a row, and the
    /// row number (the header is row 1) there.
    public var resumeChunk: Int = 0
    public var resumeOffset: Int = 0
    public var resumeRow: Int64 = 1

    public init(
        id: String, poolId: String, name: String, roleArn: String, createdAt: Int64, uploadSecret: String
    ) {
        self.id = id
        self.poolId = poolId
        self.name = name
        self.roleArn = roleArn
        self.status = .created
        self.createdAt = createdAt
        self.uploadSecret = uploadSecret
    }
}

extension ImportJob {
    /// An upload's id: 16 letters and digits, so no id is another's key prefix.
    public static func isUploadId(_ id: String) -> Bool {
        id.utf8.count == 16 && id.utf8.allSatisfy { (48...57).contains($0) || (97...122).contains($0) }
    }
}

/// What a job's stored state must be for a write of it to apply (compare and set): one of
/// `statuses` (none: the job must not exist yet), and, when given, the same runner.
public struct ImportJobExpectation: Codable, Sendable, Equatable {
    public var statuses: [UserImportJobStatusType]
    public var runner: String?

    public init(statuses: [UserImportJobStatusType], runner: String? = nil) {
        self.statuses = statuses
        self.runner = runner
    }

    public static let new = ImportJobExpectation(statuses: [])
}
