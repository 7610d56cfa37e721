import Foundation
import NodeRPC
import Raft
import Sharding

#if canImport(Glibc)
import Glibc
#endif

/// The node's write-ahead log for Raft: what a Ready cycle must make durable (every shard's
/// new entries and hard state) goes here first, in one record and one synchronous write
/// (`O_DSYNC`); LMDB then takes the same cycle without syncing its meta page. LMDB's durable commit costs two flushes
/// (data pages, then the meta page); a record in this pre-allocated file costs one.
///
/// The file is written once with zeros to its full size, so an overwrite in place never
/// changes its size or extents and a synchronous write has no file metadata to flush. Records run
/// from the start of the file in an *epoch*: a checkpoint (LMDB synced to disk, so it holds
/// everything) starts a new epoch with a marker record at offset 0. Recovery reads records
/// of the marker's epoch with consecutive sequence numbers and a valid checksum; the first
/// that is not stops it (a torn tail was never acknowledged: its fdatasync had not returned).
///
/// Used only from the runtime's event loop. Its file is a `WALFile`: the real one in
/// production, one that fails or loses power on purpose in tests.
final class RaftWAL {
    struct ShardRecord: Equatable {
        var shard: UInt32
        var hardState: HardState?
        var entries: [Entry]
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    static let magic: UInt32 = 0x4347_574C  // "CGWL"
    static let headerSize = 4 + 8 + 8 + 4 + 8  // magic, epoch, sequence, payload length, checksum

    let path: String
    let capacity: Int
    private let file: any WALFile
    private(set) var epoch: UInt64 = 0
    private var sequence: UInt64 = 0
    private(set) var offset = 0

    /// Opens (creating and zero-filling to `capacity` if needed) the log at `path`.
    convenience init(path: String, capacity: Int = 64 << 20) throws {
        try self.init(file: POSIXWALFile(path: path, capacity: capacity), capacity: capacity)
    }

    init(file: any WALFile, capacity: Int) {
        self.file = file
        path = file.path
        self.capacity = capacity
    }

    // MARK: Records

    static func encode(_ shards: [ShardRecord]) -> [UInt8] {
        var w = BinaryWriter()
        w.u32(UInt32(shards.count))
        for s in shards {
            w.u32(s.shard)
            w.bool(s.hardState != nil)
            if let h = s.hardState { RaftCodec.write(h, into: &w) }
            w.u32(UInt32(s.entries.count))
            for e in s.entries { RaftCodec.write(e, into: &w) }
        }
        return w.bytes
    }

    static func decode(_ bytes: [UInt8]) throws -> [ShardRecord] {
        var r = BinaryReader(bytes)
        var out: [ShardRecord] = []
        let count = Int(try r.u32())
        guard count * 9 <= r.remaining else { throw BinaryReader.Truncated() }
        for _ in 0..<count {
            let shard = try r.u32()
            let hard = try r.bool() ? try RaftCodec.hardState(&r) : nil
            var entries: [Entry] = []
            let n = Int(try r.u32())
            guard n * 21 <= r.remaining else { throw BinaryReader.Truncated() }
            for _ in 0..<n { entries.append(try RaftCodec.entry(&r)) }
            out.append(ShardRecord(shard: shard, hardState: hard, entries: entries))
        }
        return out
    }

    private static func checksum(epoch: UInt64, sequence: UInt64, payload: [UInt8]) -> UInt64 {
        var h = FNV1a()
        var w = BinaryWriter()
        w.u64(epoch)
        w.u64(sequence)
        h.add(w.bytes)
        h.add(payload)
        return h.value
    }

    private func frame(sequence: UInt64, payload: [UInt8]) -> [UInt8] {
        var w = BinaryWriter(capacity: Self.headerSize + payload.count)
        w.u32(Self.magic)
        w.u64(epoch)
        w.u64(sequence)
        w.u32(UInt32(payload.count))
        w.u64(Self.checksum(epoch: epoch, sequence: sequence, payload: payload))
        w.raw(payload)
        return w.bytes
    }

    /// Whether a record of `payloadSize` bytes fits before the end of the file.
    func fits(_ payloadSize: Int) -> Bool { offset + Self.headerSize + payloadSize <= capacity }

    /// Appends one cycle's record and waits until it is on disk.
    func append(_ shards: [ShardRecord]) throws {
        let payload = Self.encode(shards)
        guard fits(payload.count) else { throw Failure(description: "the write-ahead log is full (checkpoint first)") }
        sequence += 1
        try write(frame(sequence: sequence, payload: payload), at: offset)
        offset += Self.headerSize + payload.count
    }

    private func write(_ bytes: [UInt8], at position: Int) throws { try file.write(bytes, at: position) }

    /// Starts a new epoch: call only once LMDB holds (durably) everything logged so far.
    func checkpoint() throws {
        epoch += 1
        sequence = 0
        let marker = frame(sequence: 0, payload: [])
        try write(marker, at: 0)
        offset = marker.count
    }

    /// The records of the current epoch, in order, and positions the log after them.
    func recover() throws -> [[ShardRecord]] {
        let data = try file.read(upTo: capacity)
        let size = data.count
        func header(at p: Int) -> (epoch: UInt64, sequence: UInt64, payload: [UInt8])? {
            guard p + Self.headerSize <= size else { return nil }
            var r = BinaryReader(Array(data[p..<(p + Self.headerSize)]))
            guard let magic = try? r.u32(), magic == Self.magic, let e = try? r.u64(), let s = try? r.u64(),
                let len = try? r.u32(),
                let sum = try? r.u64(), p + Self.headerSize + Int(len) <= size
            else { return nil }
            let payload = Array(data[(p + Self.headerSize)..<(p + Self.headerSize + Int(len))])
            guard Self.checksum(epoch: e, sequence: s, payload: payload) == sum else { return nil }
            return (e, s, payload)
        }
        guard let marker = header(at: 0), marker.sequence == 0 else {
            // A new (all zero) log, or one never checkpointed: nothing to replay.
            epoch = 0
            sequence = 0
            offset = 0
            return []
        }
        epoch = marker.epoch
        var position = Self.headerSize
        var expected: UInt64 = 1
        var records: [[ShardRecord]] = []
        while let h = header(at: position), h.epoch == epoch, h.sequence == expected,
            let decoded = try? Self.decode(h.payload)
        {
            records.append(decoded)
            position += Self.headerSize + h.payload.count
            expected += 1
        }
        sequence = expected - 1
        offset = position
        return records
    }
}

/// The file under the write-ahead log: a write is durable when it returns.
protocol WALFile: AnyObject {
    var path: String { get }
    /// Writes `bytes` at `position` and returns once they are on disk.
    func write(_ bytes: [UInt8], at position: Int) throws
    /// The file's first `limit` bytes (all of it if shorter).
    func read(upTo limit: Int) throws -> [UInt8]
}

/// The real file: opened `O_DSYNC` (every write returns once on disk, with no separate
/// fdatasync call, cheaper here than pwrite + fdatasync) and zero-filled to its capacity.
final class POSIXWALFile: WALFile {
    let path: String
    private let fd: Int32

    init(path: String, capacity: Int) throws {
        self.path = path
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_DSYNC, 0o600)
        guard fd >= 0 else {
            throw RaftWAL.Failure(description: "cannot open \(path): \(String(cString: strerror(errno)))")
        }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw RaftWAL.Failure(description: "cannot stat \(path)") }
        if Int(st.st_size) < capacity {
            let chunk = [UInt8](repeating: 0, count: 1 << 20)
            var at = Int(st.st_size)
            while at < capacity {
                let n = min(chunk.count, capacity - at)
                let wrote = chunk.withUnsafeBytes { pwrite(fd, $0.baseAddress, n, off_t(at)) }
                guard wrote == n else {
                    throw RaftWAL.Failure(
                        description: "cannot pre-allocate \(path): \(String(cString: strerror(errno)))")
                }
                at += n
            }
            guard fsync(fd) == 0 else { throw RaftWAL.Failure(description: "fsync \(path) failed") }
            let dir = open((path as NSString).deletingLastPathComponent, O_RDONLY)
            if dir >= 0 {
                fsync(dir)
                close(dir)
            }
        }
    }

    deinit { close(fd) }

    func write(_ bytes: [UInt8], at position: Int) throws {
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes {
                pwrite(fd, $0.baseAddress! + done, bytes.count - done, off_t(position + done))
            }
            guard n > 0 else {
                throw RaftWAL.Failure(description: "write to \(path) failed: \(String(cString: strerror(errno)))")
            }
            done += n
        }
    }

    func read(upTo limit: Int) throws -> [UInt8] {
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw RaftWAL.Failure(description: "cannot stat \(path)") }
        let size = min(Int(st.st_size), limit)
        var data = [UInt8](repeating: 0, count: size)
        let n = data.withUnsafeMutableBytes { pread(fd, $0.baseAddress, size, 0) }
        guard n == size else { throw RaftWAL.Failure(description: "cannot read \(path)") }
        return data
    }
}
