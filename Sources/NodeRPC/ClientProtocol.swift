import Raft
import Sharding

/// Requests a client (the front, `cognate kv`, tests) sends to a node, in `.request` frames.
public struct ClientRequest: Sendable, Equatable {
    public enum Body: Sendable, Equatable {
        /// Propose a state-machine command; answered after it is applied. `requestId` (16
        /// bytes) makes a retry after an unknown outcome apply once.
        case propose(shard: UInt32, requestId: [UInt8], command: [UInt8])
        /// A linearizable read (ReadIndex on the shard's leader).
        case read(shard: UInt32, request: [UInt8])
        /// A read of this node's own replica, not linearizable (checksums, diagnostics).
        case localRead(shard: UInt32, request: [UInt8])
        /// The node's status as JSON.
        case status
        /// A copy of the shard's state machine for a backup, answered with a `BackupChunk`.
        /// `index` 0 takes a new copy after a ReadIndex round on the leader (so it holds every
        /// write acknowledged before the request); later chunks name the copy's index and
        /// are read from the node that answered the first.
        case backup(shard: UInt32, index: UInt64, offset: UInt64)
        /// A step of a membership change of `shard` (`cognate cluster add-node` and the like).
        case membership(shard: UInt32, step: MembershipStep)
        /// A reserving read (`ReplicatedStateMachine.reserve`) on the shard's leader, after a
        /// ReadIndex round; answered with a `ReservedReply` once what it needs is held.
        case reserve(shard: UInt32, request: [UInt8])
        /// Gives back what a reserving read's ticket holds, on the node that granted it.
        case release(shard: UInt32, ticket: UInt64)
        /// Claims a once id (`Reservation.Once`) on the node that issued it, in its run
        /// `boot`: answered `[1]` the first time, `[0]` after (or for another run's id).
        case claim(boot: UInt64, id: [UInt8])
    }

    /// Matches the response to the request on one connection.
    public var correlation: UInt64
    public var body: Body

    public init(correlation: UInt64, body: Body) {
        self.correlation = correlation
        self.body = body
    }

    public func encode() -> [UInt8] {
        var w = BinaryWriter()
        w.u64(correlation)
        switch body {
        case .propose(let shard, let id, let command):
            w.u8(1); w.u32(shard); w.blob(id); w.blob(command)
        case .read(let shard, let request):
            w.u8(2); w.u32(shard); w.blob(request)
        case .localRead(let shard, let request):
            w.u8(3); w.u32(shard); w.blob(request)
        case .status:
            w.u8(4)
        case .backup(let shard, let index, let offset):
            w.u8(5); w.u32(shard); w.u64(index); w.u64(offset)
        case .membership(let shard, let step):
            w.u8(6); w.u32(shard)
            switch step {
            case .addReplica: w.u8(0)
            case .change(let kind, let node, let address):
                w.u8(1); w.u8(kind.rawValue); w.u64(node)
                w.bool(address != nil)
                if let address { w.blob(address.encoded) }
            case .transferLeader(let to): w.u8(2); w.u64(to)
            case .dropReplica: w.u8(3)
            case .found(let voters):
                w.u8(4); w.u8(UInt8(clamping: voters.count))
                for v in voters.prefix(Int(UInt8.max)) { w.u64(v) }
            }
        case .reserve(let shard, let request):
            w.u8(7); w.u32(shard); w.blob(request)
        case .release(let shard, let ticket):
            w.u8(8); w.u32(shard); w.u64(ticket)
        case .claim(let boot, let id):
            w.u8(9); w.u64(boot); w.blob(id)
        }
        return w.bytes
    }

    public init(decoding bytes: [UInt8]) throws {
        var r = BinaryReader(bytes)
        correlation = try r.u64()
        switch try r.u8() {
        case 1:
            let shard = try r.u32()
            let id = try r.blob(max: 64)
            guard id.count == 16 else { throw BinaryReader.Truncated() }
            body = .propose(shard: shard, requestId: id, command: try r.blob(max: 8 << 20))
        case 2: body = .read(shard: try r.u32(), request: try r.blob(max: 8 << 20))
        case 3: body = .localRead(shard: try r.u32(), request: try r.blob(max: 8 << 20))
        case 4: body = .status
        case 5: body = .backup(shard: try r.u32(), index: try r.u64(), offset: try r.u64())
        case 6:
            let shard = try r.u32()
            let step: MembershipStep
            switch try r.u8() {
            case 0: step = .addReplica
            case 1:
                guard let kind = ConfChange.Kind(rawValue: try r.u8()) else { throw BinaryReader.Truncated() }
                let node = try r.u64()
                let address = try r.bool() ? try NodeAddress(encoded: try r.blob(max: ConfChange.maxContext)) : nil
                step = .change(kind, node: node, address: address)
            case 2: step = .transferLeader(to: try r.u64())
            case 3: step = .dropReplica
            case 4:
                let count = Int(try r.u8())
                guard count <= MembershipStep.maxFoundingVoters else { throw BinaryReader.Truncated() }
                step = .found(voters: try (0..<count).map { _ in try r.u64() })
            default: throw BinaryReader.Truncated()
            }
            body = .membership(shard: shard, step: step)
        case 7: body = .reserve(shard: try r.u32(), request: try r.blob(max: 8 << 20))
        case 8: body = .release(shard: try r.u32(), ticket: try r.u64())
        case 9: body = .claim(boot: try r.u64(), id: try r.blob(max: 64))
        default: throw BinaryReader.Truncated()
        }
    }
}

/// Where a node listens: for Raft and clients, and for status and metrics.
public struct NodeAddress: Codable, Sendable, Hashable {
    public var peer: String
    public var admin: String

    public init(peer: String, admin: String) {
        self.peer = peer
        self.admin = admin
    }

    public var encoded: [UInt8] {
        var w = BinaryWriter()
        w.string(peer)
        w.string(admin)
        return w.bytes
    }

    /// Decodes and checks both addresses (host:port, at most 255 bytes each).
    public init(encoded bytes: [UInt8]) throws {
        var r = BinaryReader(bytes)
        peer = try r.string()
        admin = try r.string()
        guard r.isAtEnd, peer.utf8.count <= 255, admin.utf8.count <= 255 else { throw BinaryReader.Truncated() }
        _ = try HostPort(peer, field: "peer")
        _ = try HostPort(admin, field: "admin")
    }
}

/// One step of a change of a shard's members, sent to one node.
public enum MembershipStep: Sendable, Equatable {
    /// Create an empty replica of the shard here (before the leader adds this node); it
    /// fills from the leader's snapshot. Done already: no change.
    case addReplica
    /// On the shard's leader: propose the change; answered once it is applied there. An
    /// added node's `address` goes into the shard's replicated state, so every member can
    /// reach it (nodes the definition does not list).
    case change(ConfChange.Kind, node: UInt64, address: NodeAddress?)
    /// On the shard's leader: hand leadership to `to` (answered at once; `status` shows
    /// when it happened).
    case transferLeader(to: UInt64)
    /// Delete this node's replica of the shard (one the group no longer lists); refused
    /// while it leads.
    case dropReplica
    /// Found a shard the definition does not have (a reshard adds user shards): a replica
    /// whose group starts with `voters`, sent to each of them. Done already: no change.
    case found(voters: [UInt64])

    public static let maxFoundingVoters = 7
}

/// A node's answer, in `.response` frames.
public struct ClientResponse: Sendable, Equatable {
    public enum Body: Sendable, Equatable {
        case ok([UInt8])
        /// Ask `leader` instead (0: no leader known yet).
        case notLeader(leader: UInt64)
        /// Could not be done now (no leader, leadership lost before the answer); a
        /// proposal's outcome is unknown: retry with the same request id.
        case unavailable(String)
        /// A request that can never succeed (malformed, unknown shard).
        case invalid(String)
        /// This node holds no replica of the shard (any more): ask the shard's members.
        case noReplica(String)
    }

    public var correlation: UInt64
    public var body: Body

    public init(correlation: UInt64, body: Body) {
        self.correlation = correlation
        self.body = body
    }

    public func encode() -> [UInt8] {
        var w = BinaryWriter()
        w.u64(correlation)
        switch body {
        case .ok(let b): w.u8(0); w.blob(b)
        case .notLeader(let l): w.u8(1); w.u64(l)
        case .unavailable(let s): w.u8(2); w.string(s)
        case .invalid(let s): w.u8(3); w.string(s)
        case .noReplica(let s): w.u8(4); w.string(s)
        }
        return w.bytes
    }

    public init(decoding bytes: [UInt8]) throws {
        var r = BinaryReader(bytes)
        correlation = try r.u64()
        switch try r.u8() {
        case 0: body = .ok(try r.blob())
        case 1: body = .notLeader(leader: try r.u64())
        case 2: body = .unavailable(try r.string())
        case 3: body = .invalid(try r.string())
        case 4: body = .noReplica(try r.string())
        default: throw BinaryReader.Truncated()
        }
    }
}

/// What the node answers a reserving read with (in `ClientResponse.ok`): the node that
/// served it and its run (`boot`, what an id issued there is claimed under), the term, the
/// ticket to release (0: nothing held), whether the read's once id must still be claimed
/// on the node that issued it, and the state machine's reply.
public struct ReservedReply: Sendable, Equatable {
    public var node: UInt64
    public var boot: UInt64
    public var term: UInt64
    public var ticket: UInt64
    public var claimElsewhere: Bool
    public var reply: [UInt8]

    public init(node: UInt64, boot: UInt64, term: UInt64, ticket: UInt64, claimElsewhere: Bool = false, reply: [UInt8])
    {
        self.node = node
        self.boot = boot
        self.term = term
        self.ticket = ticket
        self.claimElsewhere = claimElsewhere
        self.reply = reply
    }

    public var encoded: [UInt8] {
        var w = BinaryWriter()
        w.u64(node)
        w.u64(boot)
        w.u64(term)
        w.u64(ticket)
        w.bool(claimElsewhere)
        w.blob(reply)
        return w.bytes
    }

    public init(decoding bytes: [UInt8]) throws {
        var r = BinaryReader(bytes)
        node = try r.u64()
        boot = try r.u64()
        term = try r.u64()
        ticket = try r.u64()
        claimElsewhere = try r.bool()
        reply = try r.blob(max: 8 << 20)
        guard r.isAtEnd else { throw BinaryReader.Truncated() }
    }
}
