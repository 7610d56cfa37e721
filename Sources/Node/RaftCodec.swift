import NodeRPC
import Raft
import Sharding

/// Binary forms of the Raft types, for the wire and for LMDB.
enum RaftCodec {
    static func write(_ e: Entry, into w: inout BinaryWriter) {
        w.u64(e.term)
        w.u64(e.index)
        w.u8(e.kind.rawValue)
        w.blob(e.data)
    }

    static func entry(_ r: inout BinaryReader) throws -> Entry {
        let term = try r.u64(), index = try r.u64()
        guard let kind = EntryKind(rawValue: try r.u8()) else { throw BinaryReader.Truncated() }
        return Entry(term: term, index: index, kind: kind, data: try r.blob())
    }

    static func encode(_ e: Entry) -> [UInt8] {
        var w = BinaryWriter(capacity: e.data.count + 24)
        write(e, into: &w)
        return w.bytes
    }

    static func decodeEntry(_ bytes: [UInt8]) throws -> Entry {
        var r = BinaryReader(bytes)
        return try entry(&r)
    }

    static func write(_ c: ConfState, into w: inout BinaryWriter) {
        w.u32(UInt32(c.voters.count))
        for v in c.voters.sorted() { w.u64(v) }
        w.u32(UInt32(c.learners.count))
        for v in c.learners.sorted() { w.u64(v) }
        w.u32(UInt32(c.incarnations.count))
        for (node, incarnation) in c.incarnations.sorted(by: { $0.key < $1.key }) {
            w.u64(node)
            w.u64(incarnation)
        }
        w.u32(UInt32(c.demoted.count))
        for v in c.demoted.sorted() { w.u64(v) }
    }

    /// A configuration; one stored before incarnations were recorded ends after its
    /// learners (records end there), and reads as having none.
    static func confState(_ r: inout BinaryReader) throws -> ConfState {
        var c = ConfState()
        let nv = Int(try r.u32())
        guard nv <= 1024, nv * 8 <= r.remaining else { throw BinaryReader.Truncated() }
        for _ in 0..<nv { c.voters.insert(try r.u64()) }
        let nl = Int(try r.u32())
        guard nl <= 1024, nl * 8 <= r.remaining else { throw BinaryReader.Truncated() }
        for _ in 0..<nl { c.learners.insert(try r.u64()) }
        guard !r.isAtEnd else { return c }
        let ni = Int(try r.u32())
        guard ni <= 1024, ni * 16 <= r.remaining else { throw BinaryReader.Truncated() }
        for _ in 0..<ni { c.incarnations[try r.u64()] = try r.u64() }
        let nd = Int(try r.u32())
        guard nd <= 1024, nd * 8 <= r.remaining else { throw BinaryReader.Truncated() }
        for _ in 0..<nd { c.demoted.insert(try r.u64()) }
        return c
    }

    static func write(_ m: SnapshotMetadata, into w: inout BinaryWriter) {
        w.u64(m.index)
        w.u64(m.term)
        write(m.confState, into: &w)
    }

    static func snapshotMetadata(_ r: inout BinaryReader) throws -> SnapshotMetadata {
        SnapshotMetadata(index: try r.u64(), term: try r.u64(), confState: try confState(&r))
    }

    static func write(_ h: HardState, into w: inout BinaryWriter) {
        w.u64(h.term)
        w.u64(h.vote)
        w.u64(h.commit)
    }

    static func hardState(_ r: inout BinaryReader) throws -> HardState {
        HardState(term: try r.u64(), vote: try r.u64(), commit: try r.u64())
    }

    /// A message; snapshot data travels separately in chunks, so only its metadata is here.
    static func write(_ m: Message, into w: inout BinaryWriter) {
        w.u8(m.type.rawValue)
        w.u64(m.from)
        w.u64(m.to)
        w.u64(m.term)
        w.u64(m.logTerm)
        w.u64(m.index)
        w.u64(m.commit)
        w.bool(m.reject)
        w.u64(m.rejectHint)
        w.u64(m.rejectHintTerm)
        w.blob(m.context)
        w.u32(UInt32(m.entries.count))
        for e in m.entries { write(e, into: &w) }
        w.u64(m.incarnation)
    }

    /// The bytes `write(m, into:)` produces.
    static func encodedSize(_ m: Message) -> Int {
        // type, from, to, term, logTerm, index, commit, reject, rejectHint, rejectHintTerm;
        // the context blob; the entry count; per entry term, index, kind and its data blob;
        // the sender's incarnation.
        66 + 4 + m.context.count + 4 + m.entries.reduce(0) { $0 + 21 + $1.data.count } + 8
    }

    static func message(_ r: inout BinaryReader) throws -> Message {
        guard let type = MessageType(rawValue: try r.u8()) else { throw BinaryReader.Truncated() }
        var m = Message(type: type, from: try r.u64(), to: try r.u64(), term: try r.u64())
        m.logTerm = try r.u64()
        m.index = try r.u64()
        m.commit = try r.u64()
        m.reject = try r.bool()
        m.rejectHint = try r.u64()
        m.rejectHintTerm = try r.u64()
        m.context = try r.blob(max: 1 << 16)
        let n = Int(try r.u32())
        // Each entry takes at least 21 bytes: a count the rest cannot hold is refused
        // before anything is reserved for it.
        guard n <= 1 << 20, n * 21 <= r.remaining else { throw BinaryReader.Truncated() }
        m.entries.reserveCapacity(n)
        for _ in 0..<n { m.entries.append(try entry(&r)) }
        m.incarnation = try r.u64()
        return m
    }
}
