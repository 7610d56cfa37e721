import NodeRPC
import Sharding
import Storage

/// The layout version of a node's data directory, so a node never reads data laid out by
/// a build that wrote it differently.
enum DataFormat {
    /// 2: user-derived keys hashed to fixed length, request table with its order index.
    static let current: UInt64 = 2

    struct Mismatch: Error, CustomStringConvertible {
        var description: String
    }

    /// Stamps a new data directory with the current format; refuses one stamped with
    /// another, or holding data from before formats were stamped.
    static func check(_ env: Environment, directory: String) throws {
        let info = try env.openTable("node_info")
        let key = Array("format".utf8)
        let stored = try env.read { txn in try txn.get(key, in: info) }
        if let stored {
            var r = BinaryReader(stored)
            let format = try r.u64()
            guard format == current else {
                throw Mismatch(
                    description:
                        "\(directory) holds data in format \(format); this build reads format \(current). "
                        + "Start this node with a new data directory (or the build that wrote it)")
            }
            return
        }
        let meta = try env.openTable("raft_meta")
        let hasData = try env.read { txn in try txn.count(meta) > 0 }
        guard !hasData else {
            throw Mismatch(
                description:
                    "\(directory) holds data written by an earlier Cognate build (format 1); this build reads format "
                    + "\(current). Start this node with a new data directory")
        }
        var w = BinaryWriter()
        w.u64(current)
        try env.write { txn in try txn.put(key, w.bytes, in: info) }
    }
}
