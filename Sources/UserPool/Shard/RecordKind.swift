/// The kinds of record a shard keeps, by the key prefix before the first `/` (the table in
/// `UserPoolKeys`). Every question about a kind — does it move with its user in a reshard,
/// how is it routed — is a switch over all of them with no default case, so a new kind cannot
/// be left behind silently: it does not compile until each question is answered for it.
public enum RecordKind: String, CaseIterable, Sendable {
    case pool = "p"
    case client = "c"
    case clientIndex = "ci"
    case domain = "dm"
    case group = "g"
    case resourceServer = "rs"
    case document = "doc"
    case user = "u"
    case membership = "gm"
    case alias = "a"
    case phantom = "x"
    case phantomOrder = "xo"
    case sub = "s"
    case usedChallenge = "sc"
    case usedChallengeOrder = "sco"
    case userCount = "n"
    case importJob = "ij"
    case importChunk = "ic"
    case outbox = "o"
    case inbox = "i"
    case deletedPool = "dp"
    case reshard = "r"

    /// The kind of a key, or nil for a key of no kind (none is written).
    public static func of(_ key: some Collection<UInt8>) -> RecordKind? {
        guard let slash = key.firstIndex(of: UInt8(ascii: "/")) else { return nil }
        return RecordKind(rawValue: String(decoding: key[..<slash], as: UTF8.self))
    }

    /// Whether records of this kind live with a user (or a claim) and so move to the user's
    /// new shard in a reshard.
    public var movesWithUser: Bool {
        switch self {
        case .user, .membership, .alias, .phantom, .phantomOrder, .sub: true
        // On shard 0, which never moves.
        case .pool, .client, .clientIndex, .domain, .group, .resourceServer, .document, .importJob, .importChunk,
            .reshard:
            false
        // Per shard: counted again as users arrive (`userCount`), delivered or kept by the
        // shard that wrote them (`outbox`, `inbox`), a purge's mark (`deletedPool`), and SRP
        // challenges claimed on the node that read them (the claim is the fence; a client
        // whose challenge was read before the move starts again).
        case .userCount, .outbox, .inbox, .deletedPool, .usedChallenge, .usedChallengeOrder: false
        }
    }

    /// How a moving record names what it is routed by, from its value.
    public enum Routing: Sendable {
        /// The user record: its username.
        case username
        /// A claim: its attribute and value.
        case claim
        /// The value is the canonical username.
        case nameInValue
        /// Through another record (a phantom, through its time-ordered twin).
        case twin
        /// It does not move.
        case stays
    }

    public var routing: Routing {
        switch self {
        case .user: .username
        case .alias: .claim
        case .membership, .sub, .phantomOrder: .nameInValue
        case .phantom: .twin
        case .pool, .client, .clientIndex, .domain, .group, .resourceServer, .document, .importJob, .importChunk,
            .reshard, .userCount, .outbox, .inbox, .deletedPool, .usedChallenge, .usedChallengeOrder:
            .stays
        }
    }
}
