import AuthCrypto
import Foundation
import NodeRPC

/// Where a front reads the cluster's master keys: COGNATE_MASTER_KEY, or the definition's
/// `master_key_file`. There is no built-in key: without one the front does not start.
struct MasterKeySource: Sendable {
    let environment: String?
    let path: String?

    struct Missing: Error, CustomStringConvertible {
        var description: String
    }

    init(config: ClusterConfig, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        self.environment = environment["COGNATE_MASTER_KEY"]
        path = config.master_key_file
        guard self.environment != nil || path != nil else {
            throw Missing(
                description:
                    "no master key: set master_key_file in the cluster definition (create it with "
                    + "`cognate keys create --config FILE`) or COGNATE_MASTER_KEY")
        }
    }

    var origin: String { environment != nil ? "COGNATE_MASTER_KEY" : path ?? "-" }

    /// The keys now (the file is read again each time: `cognate keys rotate` adds to it).
    func load() throws -> MasterKeys {
        if let environment {
            do { return try MasterKeys.parse(environment) } catch {
                throw Missing(description: "COGNATE_MASTER_KEY: \(error.message)")
            }
        }
        guard let path, let data = FileManager.default.contents(atPath: path) else {
            throw Missing(
                description:
                    "cannot read the master key file \(path ?? "-"): create it with `cognate keys create --config FILE`"
            )
        }
        do { return try MasterKeys.parse(String(decoding: data, as: UTF8.self)) } catch {
            throw Missing(description: "\(path): \(error.message)")
        }
    }
}
