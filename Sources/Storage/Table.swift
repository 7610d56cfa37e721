import CLMDB

/// A named LMDB database (DBI) inside an `Environment`.
///
/// Handles stay valid for the life of the environment that opened them, so a `Table` is a
/// plain value that can be stored and shared across threads.
public struct Table: Hashable, Sendable {
    public let name: String
    let dbi: MDB_dbi
}
