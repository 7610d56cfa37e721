import AuthCrypto
import Foundation

/// Reusable SRP workspaces (each holds libcrypto scratch space), so a request borrows one
/// instead of allocating.
///
/// `@unchecked Sendable`: the free list is under `lock`; a borrowed workspace is used by
/// one caller at a time.
final class WorkspacePool: @unchecked Sendable {
    private let lock = NSLock()
    private var free: [SRPWorkspace] = []

    func with<R>(_ body: (SRPWorkspace) throws -> R) rethrows -> R {
        lock.lock()
        let w = free.popLast() ?? SRPWorkspace()
        lock.unlock()
        defer {
            lock.lock()
            free.append(w)
            lock.unlock()
        }
        return try body(w)
    }

    static let shared = WorkspacePool()
}
