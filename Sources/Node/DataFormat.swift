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

/// The incarnation of a node's data directory: a random id it gets when it is created.
/// Every message the node's replicas send carries it, and each group records its members'
/// (`ConfState.incarnations`): a node that comes back with an empty or another directory
/// under a known id answers with a new one, so its votes do not count and its group makes it
/// a learner until it has the log again. Forgetting what it acknowledged cannot elect a
/// leader that lacks committed entries.
enum DataIncarnation {
    static func load(_ env: Environment) throws -> UInt64 {
        let info = try env.openTable("node_info")
        let key = Array("incarnation".utf8)
        return try env.write { txn in
            if let stored = try txn.get(key, in: info), stored.count == 8 {
                return stored.reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            }
            var rng = SystemRandomNumberGenerator()
            var incarnation: UInt64 = 0
            while incarnation == 0 { incarnation = rng.next() }
            try txn.put(key, withUnsafeBytes(of: incarnation.bigEndian, Array.init), in: info)
            return incarnation
        }
    }
}
