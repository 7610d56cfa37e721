import Foundation

/// What the front proposes to a shard. Everything the apply needs is inside, including
/// times and generated ids, so every replica applies it identically.
///
/// On the wire a command is the tag byte `U` then its JSON; the node tells state machines
/// apart by that tag.
public indirect enum UserPoolCommand: Codable, Sendable {
    // Shard 0 (meta).
    case createPool(Pool)
    case updatePool(Pool)
    /// DeleteUserPool's first step: the pool answers as gone from here on.
    case markPoolDeleting(id: String)
    /// Removes the pool and what shard 0 keeps of it (clients, groups, import jobs).
    case deletePool(id: String)
    /// On a user shard: removes up to a batch of a deleted pool's records (users, subs,
    /// memberships, claims, phantoms, answered challenges, its count) and its messages;
    /// answers `.more(true)` while some remain.
    case purgePool(id: String)
    case createClient(AppClient)
    case updateClient(AppClient)
    case deleteClient(poolId: String, clientId: String)
    // User shards.
    /// Fails with UsernameExistsException when the canonical name is taken.
    case createUser(User, canonical: String)
    /// Replaces a user if its stored version is still `expectedVersion`.
    case updateUser(User, canonical: String, expectedVersion: Int)
    case deleteUser(poolId: String, canonical: String)
    /// Records a password check the front made: counted (and its result revealed) only if
    /// the user is not locked, and accepted only if the verifier is still the one checked
    /// (`verifierDigest`). For a name no user has it counts against that name, so the
    /// answers for users and non-users look alike. `challenge` names the SRP challenge
    /// (SECRET_BLOCK) the attempt answered: a challenge is answered once.
    case signInAttempt(
        poolId: String, canonical: String, passwordOK: Bool, verifierDigest: [UInt8], now: Int64,
        lockoutBaseSeconds: Int64, challenge: [UInt8]? = nil)
    /// Counts a code sent to, or a wrong code given for, a name no user has (or a user whose
    /// real answer would single it out), against the limits a user has: answers `ok` for a
    /// send, CodeMismatch for a check, LimitExceeded past the limits.
    case phantomCode(poolId: String, canonical: String, use: PhantomCodeUse, now: Int64)
    // Groups: definitions on shard 0, memberships on the member's shard.
    case createGroup(Group)
    case updateGroup(Group)
    case deleteGroup(poolId: String, name: String)
    /// CreateResourceServer (`create`: refused if it exists, or the pool has its most) or
    /// UpdateResourceServer (refused if it does not exist).
    case putResourceServer(ResourceServer, create: Bool)
    case deleteResourceServer(poolId: String, identifier: String)
    /// Pool documents (UI customization, branding, terms) of one pool, in one write: the
    /// first as `put` says, the others (its companions: a branding's assets) whatever exists.
    case putPoolDocuments([PoolDocument], put: PoolDocument.Put)
    /// Deletes documents of one pool; the first must exist, the others need not.
    case deletePoolDocuments(poolId: String, [PoolDocument.Ref])
    /// Adds or removes a membership on the user's record and the group's member index.
    case setMembership(poolId: String, canonical: String, group: String, member: Bool)
    /// Removes up to a batch of memberships of a deleted group on this shard; answers
    /// `.more(true)` while some remain.
    case purgeGroup(poolId: String, group: String)
    // Unique attribute values, on the shard of the value's hash.
    /// Reserves `value` for `owner`; refused while another owner holds it, unless that
    /// owner's reservation is older than `staleBefore` and `takeOver` names it.
    case reserveAlias(
        poolId: String, attribute: String, value: String, owner: String, now: Int64, staleBefore: Int64,
        takeOver: String?)
    case commitAlias(poolId: String, attribute: String, value: String, owner: String)
    /// Drops the claim if `owner` holds it.
    case releaseAlias(poolId: String, attribute: String, value: String, owner: String)

    // The outbox, on the shard of the user a message is for.
    /// A user write and the messages it causes, in one entry: the messages enter the shard's
    /// outbox only if the write succeeds, so there is no code without its message and no
    /// message without its code.
    case withMessages(UserPoolCommand, messages: [OutboxMessage])
    /// The shard leader's report on outbox messages (by id): delivered or failed for good,
    /// they leave the outbox; `toInbox` keeps delivered ones in the shard's local inbox (the
    /// dev inbox, at most `UserPoolStateMachine.inboxLimit` per shard, oldest dropped).
    case outboxDone(ids: [String], toInbox: Bool, now: Int64)
    // Shard 0: CSV user import jobs.
    /// Writes a job if its stored state meets `expect` (compare and set).
    case putImportJob(ImportJob, expect: ImportJobExpectation)
    /// Starts the one upload a created job's URL takes (`ImportJob.uploading`); an upload
    /// that stored nothing for `ImportJobRules.uploadStaleSeconds` is dropped for it.
    case beginImportUpload(poolId: String, jobId: String, upload: String)
    /// Stores a chunk (base64) of the job's upload under way.
    case putImportChunk(poolId: String, jobId: String, upload: String, index: Int, data: String)
    /// Makes the upload under way the job's file.
    case finishImportUpload(poolId: String, jobId: String, upload: String, bytes: Int64, chunks: Int)
    /// Drops an upload's chunks, and the job's mark of it if it is still under way.
    case abortImportUpload(poolId: String, jobId: String, upload: String)
    /// Drops the chunks of one upload of a job's file, or (`upload` nil) of every upload.
    case deleteImportChunks(jobId: String, upload: String?)
    // Growing the user shards (`cognate cluster reshard`).
    /// On an old user shard: fence the records that move, or (moved) delete a batch of them;
    /// answers `.more(true)` while some remain.
    case moveShard(ShardMove)
    /// On a new user shard: records copied from an old one.
    case ingest([ShardRecord])
    /// On shard 0: the user shards fronts route over.
    case setLayout(UserShardLayout)

    /// The tag byte that marks user-pool commands and queries.
    public static let tag = UInt8(ascii: "U")

    public var encoded: [UInt8] { Self.tagged(self) }

    public static func decode(_ bytes: [UInt8]) throws -> UserPoolCommand {
        try untagged(bytes, as: UserPoolCommand.self)
    }

    static let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        return e
    }()

    struct Untagged: Error, CustomStringConvertible {
        var description: String { "not a user-pool command (no tag byte)" }
    }

    static func tagged(_ value: some Encodable) -> [UInt8] {
        // Encoding these value types cannot fail: no floats, no custom throwing encoders.
        [tag] + Array(try! encoder.encode(value))
    }

    static func untagged<T: Decodable>(_ bytes: [UInt8], as: T.Type) throws -> T {
        guard bytes.first == tag else { throw Untagged() }
        return try JSONDecoder().decode(T.self, from: Data(bytes.dropFirst()))
    }
}

/// Reads the front makes of a shard. `after` is a name (or id) whose key the listing
/// continues after.
public enum UserPoolQuery: Codable, Sendable {
    case pool(id: String)
    case pools(after: String?, limit: Int)
    case client(poolId: String, clientId: String)
    /// A client by its id alone (public operations name only the client).
    case clientById(String)
    /// The pool a domain (prefix or custom) belongs to.
    case poolByDomain(String)
    case clients(poolId: String, after: String?, limit: Int)
    case user(poolId: String, canonical: String)
    /// Users of a pool on this shard in key order, after `after` (a canonical name).
    case users(poolId: String, after: String?, limit: Int)
    case group(poolId: String, name: String)
    case groups(poolId: String, after: String?, limit: Int)
    case resourceServer(poolId: String, identifier: String)
    /// Every resource server of the pool (at most 25), in key order.
    case resourceServers(poolId: String)
    case poolDocument(poolId: String, kind: PoolDocument.Kind, id: String)
    /// Every document of a kind of a pool, in key order.
    case poolDocuments(poolId: String, kind: PoolDocument.Kind)
    /// Members of a group on this shard (canonical names), after `after`.
    case members(poolId: String, group: String, after: String?, limit: Int)
    case alias(poolId: String, attribute: String, value: String)
    /// The code counters of a name no user has (nil: none yet).
    case phantomCodes(poolId: String, canonical: String)
    /// The user with this sub, if its record is on this shard.
    case userBySub(poolId: String, sub: String)
    /// How many users of the pool this shard holds.
    case userCount(poolId: String)
    /// Messages waiting in this shard's outbox, oldest first.
    case outbox(limit: Int)
    /// Messages in this shard's local inbox, newest first, before the id `before`.
    case inbox(before: String?, limit: Int)
    case importJob(poolId: String, jobId: String)
    /// A pool's import jobs in id order, after the id `after`.
    case importJobs(poolId: String, after: String?, limit: Int)
    /// Every pool's jobs, after `after` ("<pool>/<job>"): what a front tends (runs gone,
    /// uploads abandoned, jobs never started).
    case allImportJobs(after: String?, limit: Int)
    case importChunk(jobId: String, upload: String, index: Int)
    /// Shard 0: the user shards fronts route over (nil: the definition's).
    case layout
    /// A reserving read only (`reserve`): a slot for one password check of the user (or the
    /// name no user has) at `now`, and the SRP challenge it answers, once.
    case attemptSlot(
        poolId: String, canonical: String, now: Int64, lockoutBaseSeconds: Int64, challenge: AttemptChallenge?)
    /// A user shard's records that belong elsewhere under `shards` user shards, after the
    /// key `after`.
    case movingRecords(shards: Int, after: Data?, limit: Int)

    public var encoded: [UInt8] { UserPoolCommand.tagged(self) }

    public static func decode(_ bytes: [UInt8]) throws -> UserPoolQuery {
        try UserPoolCommand.untagged(bytes, as: UserPoolQuery.self)
    }
}

/// A shard's answer: a value, or a domain error.
public enum UserPoolReply: Codable, Sendable {
    case ok
    case pool(Pool?)
    case pools([Pool])
    case client(AppClient?)
    case clients([AppClient])
    /// A user; a write's reply never carries the verifier.
    case user(User?)
    case users([User])
    case group(Group?)
    case groups([Group])
    case resourceServer(ResourceServer?)
    case resourceServers([ResourceServer])
    case poolDocument(PoolDocument?)
    case poolDocuments([PoolDocument])
    case names([String])
    case alias(AliasClaim?)
    /// A recorded sign-in attempt, with the user (without verifier) when accepted.
    case attempt(AttemptOutcome, User?)
    /// Whether more work of the same command remains.
    case more(Bool)
    case count(Int64)
    case messages([OutboxEntry])
    case importJob(ImportJob?)
    case importJobs([ImportJob])
    /// A chunk of an import job's file, base64.
    case chunk(String?)
    case error(PoolError)
    /// What the node keeps of a user write for a retry: the user is read again then.
    case retainedUser(poolId: String, canonical: String)
    case retainedAttempt(AttemptOutcome, poolId: String, canonical: String)
    /// The record moved to its shard under `shards` user shards: route again.
    case moved(shards: Int)
    case layout(UserShardLayout?)
    case codeState(CodeState?)
    /// A reserving read's verdict on a password check (`attemptSlot`).
    case slot(AttemptSlot)
    /// Moving records, and the key to continue after (nil: the shard's end).
    case records([ShardRecord], next: Data?)

    public var encoded: [UInt8] { Array(try! UserPoolCommand.encoder.encode(self)) }

    public static func decode(_ bytes: [UInt8]) throws -> UserPoolReply {
        try JSONDecoder().decode(UserPoolReply.self, from: Data(bytes))
    }
}
