/// What a command may carry, checked at apply before anything is written: the time it was
/// made within a year of its entry's (the request id's clock, which the leader checked
/// against its own), and counters and versions far below where arithmetic on them could
/// overflow. A command outside them is a deterministic rejection on every replica, never a
/// trap.
extension UserPoolCommand {
    /// How far a command's time may be from its entry's.
    public static let clockWindow: Int64 = 366 * 86_400
    /// The largest version, count or counter a record may carry in a command.
    public static let maxCounter = 1 << 40

    public func checkLimits(entrySeconds: Int64) throws(PoolError) {
        func now(_ t: Int64, _ what: String) throws(PoolError) {
            let (low, lowOverflow) = entrySeconds.subtractingReportingOverflow(Self.clockWindow)
            let (high, highOverflow) = entrySeconds.addingReportingOverflow(Self.clockWindow)
            guard !lowOverflow, !highOverflow, (low...high).contains(t) else {
                throw PoolError(.invalidParameter, "\(what) \(t) is not within a year of the request's time")
            }
        }
        switch self {
        case .createUser(let user, _), .updateUser(let user, _, _):
            try Self.check(user)
            if case .updateUser(_, _, let expected) = self {
                try Self.counter(expected, "an expected version")
            }
        case .signInAttempt(_, _, _, _, let t, let base, _):
            try now(t, "a sign-in attempt's time")
            guard (0...Lockout.maxSeconds).contains(base) else {
                throw PoolError(.invalidParameter, "a lockout base of \(base) seconds is out of range")
            }
        case .phantomCode(_, _, _, let t): try now(t, "a code's time")
        case .reserveAlias(_, _, _, _, let t, let staleBefore, _):
            try now(t, "a reservation's time")
            try now(staleBefore, "a reservation's staleness bound")
        case .outboxDone(_, _, let t): try now(t, "a delivery report's time")
        case .withMessages(let inner, let messages):
            try inner.checkLimits(entrySeconds: entrySeconds)
            for m in messages { try now(m.createdAt, "a message's time") }
        case .finishImportUpload(_, _, _, let bytes, let chunks):
            try Self.counter(Int(clamping: bytes), "an import file's size")
            try Self.counter(chunks, "an import file's chunk count")
        case .putImportJob(let job, _):
            for n in [job.imported, job.skipped, job.failed, job.resumeRow, job.fileBytes ?? 0] {
                try Self.counter(Int(clamping: n), "an import job's count")
            }
            for n in [job.resumeChunk, job.resumeOffset, job.fileChunks ?? 0] {
                try Self.counter(n, "an import job's position")
            }
        case .createPool, .updatePool, .markPoolDeleting, .deletePool, .purgePool, .createClient, .updateClient,
            .deleteClient, .deleteUser, .createGroup, .updateGroup, .deleteGroup, .putResourceServer,
            .deleteResourceServer, .putPoolDocuments, .deletePoolDocuments, .setMembership, .purgeGroup,
            .commitAlias, .releaseAlias, .beginImportUpload, .putImportChunk, .abortImportUpload,
            .deleteImportChunks, .moveShard, .ingest, .setLayout:
            break
        }
    }

    static func counter(_ n: Int, _ what: String) throws(PoolError) {
        guard (0...maxCounter).contains(n) else {
            throw PoolError(.invalidParameter, "\(what) of \(n) is out of range")
        }
    }

    /// A user record's counters: what the shard later adds one to.
    static func check(_ user: User) throws(PoolError) {
        try counter(user.version, "a user's version")
        try counter(user.failedAttempts, "a user's failed attempts")
        if let codes = user.codes {
            try counter(codes.wrongGuesses, "a user's wrong codes")
            guard codes.sentAt.count <= 1_000, codes.codes.count <= 1_000 else {
                throw PoolError(.invalidParameter, "a user's codes are over the limit")
            }
        }
    }
}

/// Adds one to a stored counter, refusing (deterministically) where it would overflow:
/// records can come from a reshard's or a restore's copy, not only from checked commands.
func incremented(_ n: Int, _ what: String) throws(PoolError) -> Int {
    let (next, overflow) = n.addingReportingOverflow(1)
    guard !overflow else { throw PoolError(.invalidParameter, "\(what) cannot grow past \(n)") }
    return next
}
