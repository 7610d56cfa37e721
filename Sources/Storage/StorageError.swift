import CLMDB

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An error from the storage layer, carrying LMDB's return code where there is one.
public struct StorageError: Error, CustomStringConvertible, Sendable, Equatable {
    /// What went wrong, extensible without breaking callers that switch with `default`.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        fileprivate enum Base: Hashable, Sendable {
            case lmdb
            case mapFull
            case keyExists
            case invalidArgument
            case io
        }
        fileprivate let base: Base

        /// Any LMDB failure without a more specific code; see `lmdbCode`.
        public static let lmdb = Code(base: .lmdb)
        /// The map could not grow further than `EnvironmentOptions.maxMapSize`.
        public static let mapFull = Code(base: .mapFull)
        /// A put with `noOverwrite` found the key already present.
        public static let keyExists = Code(base: .keyExists)
        /// The caller passed something LMDB cannot take (an empty or oversize key, say).
        public static let invalidArgument = Code(base: .invalidArgument)
        /// A file-system operation outside LMDB failed (creating the directory).
        public static let io = Code(base: .io)

        public var description: String {
            switch base {
            case .lmdb: "lmdb"
            case .mapFull: "mapFull"
            case .keyExists: "keyExists"
            case .invalidArgument: "invalidArgument"
            case .io: "io"
            }
        }
    }

    public var code: Code
    /// LMDB's (or errno's) numeric code; 0 when the error did not come from LMDB.
    public var lmdbCode: Int32
    public var message: String

    public init(code: Code, lmdbCode: Int32 = 0, message: String) {
        self.code = code
        self.lmdbCode = lmdbCode
        self.message = message
    }

    /// Wraps an LMDB return code with the operation that produced it.
    init(lmdb rc: Int32, _ operation: String) {
        let text = String(cString: mdb_strerror(rc))
        let code: Code =
            switch rc {
            case MDB_MAP_FULL: .mapFull
            case MDB_KEYEXIST: .keyExists
            case MDB_BAD_VALSIZE, EINVAL: .invalidArgument
            default: .lmdb
            }
        self.init(code: code, lmdbCode: rc, message: "\(operation): \(text)")
    }

    public var description: String { "StorageError(\(code), \(lmdbCode)): \(message)" }

    /// Whether the failure is the machine's (a full disk or map, an I/O error, a damaged
    /// file) rather than the data's: the same write can succeed elsewhere or later. A key
    /// or value LMDB cannot take, or a key that exists, fails alike everywhere.
    public var isEnvironmental: Bool { code != .invalidArgument && code != .keyExists }
}

/// Throws a `StorageError` unless `rc` is `MDB_SUCCESS`.
@inline(__always)
func check(_ rc: Int32, _ operation: @autoclosure () -> String) throws(StorageError) {
    if rc != MDB_SUCCESS { throw StorageError(lmdb: rc, operation()) }
}
