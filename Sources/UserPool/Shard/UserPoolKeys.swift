import Crypto
import Sharding

/// Where the user-pool state machine keeps its records in a shard's range of `sm_data`.
///
/// Pool and client ids are short and of a fixed alphabet (checked before anything is
/// proposed); every other part that comes from a request (usernames, group names, alias
/// values) is stored as its SHA-256, so every key has a bounded length whatever the input
/// (LMDB refuses keys over 511 bytes) and no name can be made to read as another's prefix.
/// The readable form stays in the record. Lists come out in key order, which for hashed
/// parts is stable but not alphabetical; pagination continues after a name's key.
///
/// ```
/// p/<pool>                          a pool                   (shard 0)
/// c/<pool>/<client>, ci/<client>    a client, client → pool  (shard 0)
/// g/<pool>/<H(group)>               a group                  (shard 0)
/// u/<pool>/<H(canonical)>           a user
/// gm/<pool>/<H(group)>/<H(user)>    a membership → the canonical username
/// a/<pool>/<H(attribute, value)>    a claim on a unique value
/// x/<pool>/<H(canonical)>           failed sign-ins of a name no user has
/// xo/<pool>/<t>/<H(canonical)>      the same, by time of the last failure (for pruning)
/// s/<pool>/<H(sub)>                 a sub → the canonical username (on the user's shard)
/// sc/<pool>/<id>                    an SRP challenge answered (id: its SECRET_BLOCK's SHA-256)
/// sco/<pool>/<t><id>                the same, by the time it can no longer be answered
/// n/<pool>                          the number of users of the pool on this shard
/// ij/<pool>/<job>                   a user import job          (shard 0)
/// ic/<job>/<upload>/<n>             chunk n of an upload of its CSV file (shard 0)
/// o/<index><n>                      an outbox message (the entry that wrote it, its place)
/// i/<index><n>                      a delivered message in the local (dev) inbox
/// dp/<pool>                         a pool deleted and purged from this user shard
/// r/layout                          the user shards fronts route over (shard 0; a reshard's)
/// r/move                            an old user shard's part in a reshard (fenced, moved)
/// ```
public enum UserPoolKeys {
    static func hash(_ parts: String...) -> [UInt8] {
        var h = SHA256()
        for p in parts {
            let bytes = Array(p.utf8)
            withUnsafeBytes(of: UInt32(bytes.count).bigEndian) { h.update(bufferPointer: $0) }
            h.update(data: bytes)
        }
        return Array(h.finalize())
    }

    static func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    static func pool(_ id: String) -> [UInt8] { bytes("p/\(id)") }
    static let poolPrefix = bytes("p/")
    static func client(_ pool: String, _ id: String) -> [UInt8] { bytes("c/\(pool)/\(id)") }
    static func clientPrefix(_ pool: String) -> [UInt8] { bytes("c/\(pool)/") }
    static func clientIndex(_ id: String) -> [UInt8] { bytes("ci/\(id)") }
    /// A domain's pool (the index that keeps a domain to one pool).
    static func domain(_ name: String) -> [UInt8] { bytes("dm/\(name)") }
    static func groupPrefix(_ pool: String) -> [UInt8] { bytes("g/\(pool)/") }
    static func resourceServerPrefix(_ pool: String) -> [UInt8] { bytes("rs/\(pool)/") }
    static func resourceServer(_ pool: String, _ identifier: String) -> [UInt8] {
        resourceServerPrefix(pool) + hash(identifier)
    }
    static func group(_ pool: String, _ name: String) -> [UInt8] { groupPrefix(pool) + hash(name) }
    /// Pool documents: `doc/<pool>/` then the kind, then the id's hash.
    static func documentPrefix(_ pool: String) -> [UInt8] { bytes("doc/\(pool)/") }
    static func documentPrefix(_ pool: String, _ kind: PoolDocument.Kind) -> [UInt8] {
        bytes("doc/\(pool)/\(kind.rawValue)/")
    }
    static func document(_ pool: String, _ kind: PoolDocument.Kind, _ id: String) -> [UInt8] {
        documentPrefix(pool, kind) + hash(id)
    }
    static func userPrefix(_ pool: String) -> [UInt8] { bytes("u/\(pool)/") }
    static func user(_ pool: String, _ canonical: String) -> [UInt8] { userPrefix(pool) + hash(canonical) }
    static func memberPrefix(_ pool: String, _ group: String) -> [UInt8] { bytes("gm/\(pool)/") + hash(group) }
    static func member(_ pool: String, _ group: String, _ canonical: String) -> [UInt8] {
        memberPrefix(pool, group) + hash(canonical)
    }
    static func alias(_ pool: String, _ attribute: String, _ value: String) -> [UInt8] {
        bytes("a/\(pool)/") + hash(attribute, value)
    }
    static func sub(_ pool: String, _ sub: String) -> [UInt8] { bytes("s/\(pool)/") + hash(sub) }
    static func userCount(_ pool: String) -> [UInt8] { bytes("n/\(pool)") }
    static func phantom(_ pool: String, _ canonical: String) -> [UInt8] { bytes("x/\(pool)/") + hash(canonical) }
    static func phantomOrderPrefix(_ pool: String) -> [UInt8] { bytes("xo/\(pool)/") }
    static func phantomOrder(_ pool: String, _ at: Int64, _ canonical: String) -> [UInt8] {
        phantomOrderPrefix(pool) + withUnsafeBytes(of: UInt64(max(0, at)).bigEndian, Array.init) + hash(canonical)
    }

    static func usedChallenge(_ pool: String, _ id: [UInt8]) -> [UInt8] { bytes("sc/\(pool)/") + id }
    static func usedChallengeOrderPrefix(_ pool: String) -> [UInt8] { bytes("sco/\(pool)/") }
    static func usedChallengeOrder(_ pool: String, _ at: Int64, _ id: [UInt8]) -> [UInt8] {
        usedChallengeOrderPrefix(pool) + withUnsafeBytes(of: UInt64(max(0, at)).bigEndian, Array.init) + id
    }

    /// A pool DeleteUserPool purged from this user shard (its writes are refused).
    static func deletedPool(_ pool: String) -> [UInt8] { bytes("dp/\(pool)") }

    /// Every prefix under which a user shard keeps a pool's records (its messages aside).
    static func userShardPrefixes(pool: String) -> [[UInt8]] {
        ["u", "s", "gm", "a", "x", "xo", "sc", "sco"].map { bytes("\($0)/\(pool)/") }
    }

    static let allImportJobsPrefix = bytes("ij/")
    static func importJobPrefix(_ pool: String) -> [UInt8] { allImportJobsPrefix + bytes("\(pool)/") }
    static func importJob(_ pool: String, _ id: String) -> [UInt8] { importJobPrefix(pool) + bytes(id) }
    static func importChunkPrefix(_ job: String) -> [UInt8] { bytes("ic/\(job)/") }
    static func importUploadPrefix(_ job: String, _ upload: String) -> [UInt8] {
        importChunkPrefix(job) + bytes("\(upload)/")
    }
    static func importChunk(_ job: String, _ upload: String, _ n: Int) -> [UInt8] {
        importUploadPrefix(job, upload) + withUnsafeBytes(of: UInt32(n).bigEndian, Array.init)
    }

    static let outboxPrefix = bytes("o/")
    static let inboxPrefix = bytes("i/")
    static func position(index: UInt64, n: Int) -> [UInt8] {
        withUnsafeBytes(of: index.bigEndian, Array.init) + [UInt8(truncatingIfNeeded: n >> 8), UInt8(n & 0xff)]
    }
    static func outbox(index: UInt64, n: Int) -> [UInt8] { outboxPrefix + position(index: index, n: n) }
    static func inbox(index: UInt64, n: Int) -> [UInt8] { inboxPrefix + position(index: index, n: n) }
    /// The entry index and place a message key's last ten bytes hold.
    static func position(_ tail: [UInt8]) -> (UInt64, Int)? {
        guard tail.count == 10 else { return nil }
        let index = tail.prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        return (index, Int(tail[8]) << 8 | Int(tail[9]))
    }

    /// The first key after every key that starts with `prefix` (hashed parts can hold any
    /// byte, 0xff included, so "prefix + 0xff" would not do).
    static func end(of prefix: [UInt8]) -> [UInt8] {
        var end = prefix
        while let last = end.last {
            if last < 0xff {
                end[end.count - 1] = last + 1
                return end
            }
            end.removeLast()
        }
        return [0xff, 0xff, 0xff, 0xff, 0xff]
    }

    /// Where a user's record lives in a node's `sm_data` table.
    public static func userRecordKey(shard: UInt32, pool: String, canonical: String) -> [UInt8] {
        ShardKeys.key(shard, user(pool, canonical))
    }

    /// The user shard (1...userShards) holding a user: jump hash of "pool/canonical".
    public static func userShard(pool: String, canonical: String, userShards: Int) -> UInt32 {
        var h = FNV1a()
        h.add(Array("\(pool)/\(canonical)".utf8))
        return UInt32(jumpHash(h.value, buckets: Int32(userShards))) + 1
    }
}
