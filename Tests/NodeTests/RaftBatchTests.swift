import Raft
import Sharding
import Testing

@testable import Node
import NodeRPC

@Suite("Raft frames")
struct RaftBatchTests {
    /// An append to node 2 of `count` entries of `bytes` bytes each.
    func append(shard: UInt32, first: UInt64, count: Int, bytes: Int) -> (UInt32, Message) {
        var m = Message(type: .append, from: 1, to: 2, term: 3)
        m.index = first - 1
        m.logTerm = 3
        m.commit = first - 1
        m.entries = (0..<count).map { Entry(term: 3, index: first + UInt64($0), data: [UInt8](repeating: UInt8($0 & 0xFF), count: bytes)) }
        return (shard, m)
    }

    @Test("the encoded size is what the codec writes")
    func encodedSize() {
        var heartbeat = Message(type: .heartbeat, from: 1, to: 2, term: 9)
        heartbeat.context = [1, 2, 3]
        for (_, m) in [(UInt32(0), heartbeat), append(shard: 1, first: 5, count: 7, bytes: 100), append(shard: 1, first: 1, count: 0, bytes: 0)] {
            var w = BinaryWriter()
            RaftCodec.write(m, into: &w)
            #expect(RaftCodec.encodedSize(m) == w.bytes.count)
        }
    }

    @Test("a burst bigger than a frame goes as several frames, each within the budget, in order")
    func splits() throws {
        // What a leader sent a rejoining follower in one cycle: 40 appends of a 400 KiB
        // backlog (16 MB, past Frame.maxSize as one frame), with heartbeats between.
        var burst: [(UInt32, Message)] = []
        for k in 0..<40 {
            burst.append(append(shard: UInt32(1 + k % 3), first: 100, count: 200, bytes: 2048))
            burst.append((0, Message(type: .heartbeat, from: 1, to: 2, term: 3)))
        }
        let payloads = RaftBatch.encode(burst)
        #expect(payloads.count > 1)
        #expect(payloads.allSatisfy { $0.count <= RaftBatch.frameBudget })
        let decoded = try payloads.flatMap { try RaftBatch.decode($0) }
        #expect(decoded.count == burst.count)
        for (a, b) in zip(decoded, burst) { #expect(a.0 == b.0 && a.1 == b.1) }
    }

    @Test("small batches stay one frame; a message over the budget goes alone")
    func edges() throws {
        #expect(RaftBatch.encode([]).isEmpty)
        let small = [(UInt32(1), Message(type: .heartbeat, from: 1, to: 2, term: 1)), append(shard: 2, first: 1, count: 3, bytes: 10)]
        #expect(RaftBatch.encode(small).count == 1)
        let big = append(shard: 1, first: 1, count: 4, bytes: 1 << 20)
        let payloads = RaftBatch.encode([small[0], big, small[1]], maxBytes: 1 << 20)
        #expect(payloads.count == 3)
        #expect(try RaftBatch.decode(payloads[1]).first?.1.entries.count == 4)
    }
}
