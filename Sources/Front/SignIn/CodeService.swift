import AuthCrypto
import CognitoModel
import Crypto
import UserPool

/// Codes on a user's record, for the code operations and the sign-in's one-time codes
/// alike: a code's keyed hash and its message go into the user's record and the shard's
/// outbox in one write; a code is checked, and used or counted, in one write.
struct CodeService: Sendable {
    let store: PoolStore
    let codeKey: SymmetricKey

    func digest(_ code: String, _ user: User, _ pool: Pool, _ purpose: CodePurpose, _ attribute: String?) -> [UInt8] {
        CodeRules.digest(
            code, key: codeKey, pool: pool.id, username: user.username, purpose: purpose, attribute: attribute)
    }

    /// Draws a code for `user` (read whole), records its hash and writes `message(code)`
    /// in the same entry, with `change` made there too.
    func send(
        _ user: User, pool: Pool, purpose: CodePurpose, attribute: String, now: Int64,
        message: (String) -> OutboxMessage, change: (inout User) throws(PoolError) -> Void = { _ in }
    ) async throws {
        // The code is drawn once; a retry after a concurrent change records the same one.
        var rng = SystemRandomNumberGenerator()
        let code = CodeRules.newCode(using: &rng)
        let hash = digest(code, user, pool, purpose, attribute)
        _ = try await store.modify(user, in: pool, messages: [message(code)]) { (u: inout User) throws(PoolError) in
            try change(&u)
            try CodeRules.issue(&u, purpose: purpose, attribute: attribute, digest: hash, now: now)
        }
    }

    /// Checks a code against the user's record and, when right, makes `then`'s change in
    /// the same write; a wrong code is counted. Throws the verdict's refusal.
    @discardableResult
    func use(
        _ code: String, user: User, pool: Pool, purpose: CodePurpose, attribute: String?, now: Int64,
        then: (inout User, _ sentTo: String?) throws(PoolError) -> Void
    ) async throws -> User {
        let hash = digest(code, user, pool, purpose, attribute)
        var verdict = CodeRules.Verdict.limited
        let saved = try await store.modify(user, in: pool) { (u: inout User) throws(PoolError) in
            verdict = CodeRules.check(&u, purpose: purpose, attribute: attribute, digest: hash, now: now)
            switch verdict {
            case .limited: throw CodeRules.Verdict.limited.refusal!
            case .accepted(let sentTo): try then(&u, sentTo)
            case .mismatch, .expired: break
            }
        }
        if let refusal = verdict.refusal { throw refusal }
        return saved
    }
}
