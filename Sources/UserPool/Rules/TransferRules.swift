import AuthCrypto

/// What `cognate users export` takes out of a user record and what `import` puts back.
///
/// The password verifier leaves only sealed (the file keeps it apart from the readable
/// record). What is tied to this cluster or to a moment stays behind: outstanding codes
/// (keyed with this cluster's master key), pending attribute changes that wait on those
/// codes, the lockout counters, revoked refresh-token families and the sign-out time (no
/// token of this cluster is valid on another's keys anyway). Groups go with the user and
/// are created in the target pool if it lacks them.
public enum TransferRules {
    /// The readable record and the secrets to seal.
    public static func exported(_ user: User) -> (record: User, secrets: TransferSecrets) {
        var record = user
        record.verifier = nil
        record.codes = nil
        record.pendingAttributes = nil
        record.revokedOrigins = nil
        record.signedOutAt = nil
        record.lockout = Lockout()
        record.version = 1
        return (record, TransferSecrets(verifier: user.verifier))
    }

    /// Refuses a pool whose name differs from that of the pool the users came from.
    public static func checkPool(exported: String, into pool: Pool) throws(PoolError) {
        let name = SRPHash.poolName(fromPoolId: exported)
        guard name == SRPHash.poolName(fromPoolId: pool.id) else {
            throw PoolError(
                .invalidParameter,
                "the users were exported from \(exported): their password verifiers only work in a pool whose id "
                    + "ends in _\(name)")
        }
    }

    /// The record to write into `pool`, or why it cannot be. A verifier is bound to the
    /// pool's name (the part of its id after "_") and to the username, so it is refused in a
    /// pool of another name; `groups` are the groups the target pool has.
    public static func imported(
        _ record: User, secrets: TransferSecrets, into pool: Pool, groups: Set<String>
    ) throws(PoolError) -> User {
        try checkPool(exported: record.poolId, into: pool)
        guard !record.username.isEmpty, !record.sub.isEmpty else {
            throw PoolError(.invalidParameter, "an exported user has no username or sub")
        }
        if secrets.verifier == nil, record.status == .confirmed {
            throw PoolError(.invalidParameter, "user \(record.username) is CONFIRMED but has no password verifier")
        }
        var user = exported(record).record
        user.poolId = pool.id
        user.verifier = secrets.verifier
        user.groups = record.groups.map { $0.filter(groups.contains).sorted() }.flatMap { $0.isEmpty ? nil : $0 }
        return user
    }
}

/// The part of a user an export seals.
public struct TransferSecrets: Codable, Sendable, Equatable {
    public var verifier: PasswordVerifier?

    public init(verifier: PasswordVerifier?) { self.verifier = verifier }
}

/// Cognito's CSV import format.
public enum CSVImportRules {
    /// Cognito's standard attributes in the order its CSV header lists them (without `sub`).
    static let standardOrder = [
        "name", "given_name", "family_name", "middle_name", "nickname", "preferred_username", "profile", "picture",
        "website", "email", "email_verified", "gender", "birthdate", "zoneinfo", "locale", "phone_number",
        "phone_number_verified", "address", "updated_at",
    ]

    /// GetCSVHeader: the standard attributes, the pool's custom attributes in the order they
    /// were added, then `cognito:mfa_enabled` and `cognito:username`.
    public static func header(_ pool: Pool) -> [String] {
        let custom = pool.schema.map(\.name).filter { !SchemaRules.standardNames.contains($0) }
        return standardOrder + custom + ["cognito:mfa_enabled", "cognito:username"]
    }
}
