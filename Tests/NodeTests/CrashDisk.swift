import CFaultFS
import Foundation

/// One recorded file operation (from `CFaultFS`).
struct RecordedOp {
    enum Kind { case write, sync }
    var kind: Kind
    var path: String
    /// The write's descriptor was `O_DSYNC`: it returned once its pages were on disk.
    var dsync: Bool
    var offset: Int
    var bytes: [UInt8]

    /// The write-ahead log starting a new epoch (its header, at the start of the file).
    var isCheckpoint: Bool { kind == .write && offset == 0 && path.hasSuffix("/raft.wal") }

    /// Everything `faultfs` recorded, in order (after `faultfs_stop`).
    static func all() -> [RecordedOp] {
        let paths = (0..<faultfs_files()).map { String(cString: faultfs_path($0)) }
        return (0..<faultfs_count()).map { i in
            let op = faultfs_get(i)
            let bytes = op.length > 0 ? Array(UnsafeBufferPointer(start: op.bytes, count: Int(op.length))) : []
            return RecordedOp(
                kind: op.kind == Int32(FAULTFS_SYNC.rawValue) ? .sync : .write, path: paths[Int(op.file)],
                dsync: op.dsync != 0, offset: Int(op.offset), bytes: bytes)
        }
    }
}

/// The disk under recorded files, replayed operation by operation, and the file states a
/// power cut at the current point could leave.
///
/// The model, per 512-byte sector (a sector reaches the platter whole or not at all, the
/// assumption LMDB's meta page rests on; the log's own test tears within sectors too):
/// - `fsync`/`fdatasync` of a file puts every sector of it on disk;
/// - a write on an `O_DSYNC` descriptor puts the 4 KiB pages it touched on disk (their
///   latest contents, other writes to them included) when it returns;
/// - any other sector written since it was last on disk holds, after the cut, its last
///   durable contents or any version written since, independently of every other sector:
///   the page cache writes back in any order, and can write a page back more than once;
/// - the write in flight at the cut may have reached any of its sectors or none.
/// A file's growth that was never synced reads as zeros.
final class CrashDisk {
    static let sector = 512
    static let page = 4096

    final class File {
        var durable: [UInt8]
        /// Sector → its versions written since it was last on disk, oldest first.
        var pending: [Int: [[UInt8]]] = [:]

        init(_ base: [UInt8]) {
            durable = base
            grow(to: base.count)
        }

        func grow(to size: Int) {
            let rounded = (size + CrashDisk.sector - 1) / CrashDisk.sector * CrashDisk.sector
            if durable.count < rounded { durable += [UInt8](repeating: 0, count: rounded - durable.count) }
        }

        func latest(_ s: Int) -> [UInt8] {
            pending[s]?.last ?? Array(durable[s * CrashDisk.sector..<(s + 1) * CrashDisk.sector])
        }

        /// The sectors `op` writes, each as it would read after the write.
        func versions(of op: RecordedOp) -> [(Int, [UInt8])] {
            guard !op.bytes.isEmpty else { return [] }
            grow(to: op.offset + op.bytes.count)
            let end = op.offset + op.bytes.count
            return (op.offset / CrashDisk.sector...(end - 1) / CrashDisk.sector).map { s in
                var v = latest(s)
                let lo = max(s * CrashDisk.sector, op.offset)
                let hi = min((s + 1) * CrashDisk.sector, end)
                for i in lo..<hi { v[i - s * CrashDisk.sector] = op.bytes[i - op.offset] }
                return (s, v)
            }
        }

        func settle(_ s: Int) {
            guard let v = pending.removeValue(forKey: s)?.last else { return }
            durable.replaceSubrange(s * CrashDisk.sector..<(s + 1) * CrashDisk.sector, with: v)
        }
    }

    private(set) var files: [String: File] = [:]
    private(set) var applied = 0

    /// `base`: each file's contents when recording began, all on disk.
    init(base: [String: [UInt8]]) {
        for (path, bytes) in base { files[path] = File(bytes) }
    }

    func file(_ path: String) -> File {
        if let f = files[path] { return f }
        let f = File([])
        files[path] = f
        return f
    }

    /// Replays one operation as the kernel saw it complete.
    func apply(_ op: RecordedOp) {
        applied += 1
        let f = file(op.path)
        switch op.kind {
        case .sync:
            for s in Array(f.pending.keys) { f.settle(s) }
        case .write:
            let written = f.versions(of: op)
            for (s, v) in written { f.pending[s, default: []].append(v) }
            if op.dsync {
                let sectorsPerPage = CrashDisk.page / CrashDisk.sector
                let pages = Set(written.map { $0.0 / sectorsPerPage })
                for p in pages { for s in p * sectorsPerPage..<(p + 1) * sectorsPerPage { f.settle(s) } }
            }
        }
    }

    /// The file as the process would read it now: nothing lost.
    func image(_ path: String) -> [UInt8] {
        let f = file(path)
        var out = f.durable
        for (s, vs) in f.pending { out.replaceSubrange(s * Self.sector..<(s + 1) * Self.sector, with: vs.last!) }
        return out
    }

    /// The file as the process would read it after `op`, the write in flight, completes.
    func image(_ path: String, completing op: RecordedOp) -> [UInt8] {
        var out = image(path)
        guard op.kind == .write, op.path == path, !op.bytes.isEmpty else { return out }
        let end = op.offset + op.bytes.count
        if out.count < end { out += [UInt8](repeating: 0, count: end - out.count) }
        out.replaceSubrange(op.offset..<end, with: op.bytes)
        return out
    }

    /// One state a power cut now could leave the file in, `inFlight` being the write cut
    /// short. Counts the sectors that came back older than the process last wrote them.
    func crashImage(
        _ path: String, inFlight: RecordedOp?, using rng: inout some RandomNumberGenerator, lost: inout Int
    ) -> [UInt8] {
        let f = file(path)
        var candidates = f.pending
        if let op = inFlight, op.kind == .write, op.path == path {
            for (s, v) in f.versions(of: op) { candidates[s, default: []].append(v) }
        }
        var out = f.durable
        for (s, vs) in candidates {
            let pick = Int.random(in: 0...vs.count, using: &rng)
            if pick < vs.count { lost += 1 }
            if pick > 0 { out.replaceSubrange(s * Self.sector..<(s + 1) * Self.sector, with: vs[pick - 1]) }
        }
        return out
    }
}
