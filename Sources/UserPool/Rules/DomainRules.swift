import CognitoModel

/// A user pool's domain: a prefix domain (`<prefix>.auth.<region>.<suffix>`) or a custom
/// domain with its certificate's ARN, and the managed-login version its pages use.
public struct PoolDomain: Codable, Sendable, Equatable {
    public var domain: String
    /// Set for a custom domain (stored as given: Cognate serves TLS with its own certificate).
    public var certificateArn: String?
    /// 1: the classic hosted UI; 2: managed login.
    public var managedLoginVersion: Int
    public var createdAt: Int64

    public init(domain: String, certificateArn: String?, managedLoginVersion: Int, createdAt: Int64) {
        self.domain = domain
        self.certificateArn = certificateArn
        self.managedLoginVersion = managedLoginVersion
        self.createdAt = createdAt
    }

    public var isCustom: Bool { certificateArn != nil }
}

/// Cognito's rules for user pool domains: one prefix domain and one custom domain per pool,
/// each name used by one pool of the cluster (the shard keeps the index and refuses a name
/// taken by another pool), prefixes of lowercase letters, digits and hyphens without the
/// words AWS reserves, custom domains fully qualified.
public enum DomainRules {
    static let reservedWords = ["aws", "amazon", "cognito"]

    /// CreateUserPoolDomain on `pool`: the new domain, added to the pool's.
    public static func create(
        _ pool: inout Pool, name: String, certificateArn: String?, managedLoginVersion: Int?, now: Int64
    ) throws(PoolError) -> PoolDomain {
        let custom = certificateArn != nil
        // DNS names are case-insensitive; a prefix must already be lowercase.
        let name = custom ? name.lowercased() : name
        if custom {
            try checkCustom(name)
        } else {
            try checkPrefix(name)
        }
        var domains = pool.settings.domains ?? []
        guard !domains.contains(where: { $0.isCustom == custom }) else {
            throw PoolError(
                .invalidParameter,
                "The user pool already has a \(custom ? "custom" : "prefix") domain; delete it before creating another."
            )
        }
        let version = try checkVersion(managedLoginVersion ?? 1)
        let domain = PoolDomain(
            domain: name, certificateArn: certificateArn, managedLoginVersion: version, createdAt: now)
        domains.append(domain)
        pool.settings.domains = domains
        pool.modifiedAt = now
        return domain
    }

    /// UpdateUserPoolDomain: the managed-login version, and a custom domain's certificate.
    public static func update(
        _ pool: inout Pool, name: String, certificateArn: String?, managedLoginVersion: Int?, now: Int64
    ) throws(PoolError) -> PoolDomain {
        let name = name.lowercased()
        guard var domains = pool.settings.domains, let i = domains.firstIndex(where: { $0.domain == name }) else {
            throw PoolError(.invalidParameter, "The domain \(name) does not belong to the user pool \(pool.id).")
        }
        if let certificateArn {
            guard domains[i].isCustom else {
                throw PoolError(.invalidParameter, "Only a custom domain has a certificate (CustomDomainConfig).")
            }
            domains[i].certificateArn = certificateArn
        }
        if let managedLoginVersion { domains[i].managedLoginVersion = try checkVersion(managedLoginVersion) }
        pool.settings.domains = domains
        pool.modifiedAt = now
        return domains[i]
    }

    /// DeleteUserPoolDomain.
    public static func delete(_ pool: inout Pool, name: String, now: Int64) throws(PoolError) {
        let name = name.lowercased()
        guard let domains = pool.settings.domains, domains.contains(where: { $0.domain == name }) else {
            throw PoolError(.invalidParameter, "The domain \(name) does not belong to the user pool \(pool.id).")
        }
        let rest = domains.filter { $0.domain != name }
        pool.settings.domains = rest.isEmpty ? nil : rest
        pool.modifiedAt = now
    }

    static func checkVersion(_ version: Int) throws(PoolError) -> Int {
        guard version == 1 || version == 2 else {
            throw PoolError(.invalidParameter, "ManagedLoginVersion must be 1 (hosted UI) or 2 (managed login).")
        }
        return version
    }

    static func checkPrefix(_ name: String) throws(PoolError) {
        let label = name.utf8.count <= 63 && !name.isEmpty && !name.hasPrefix("-") && !name.hasSuffix("-")
        guard label, name.allSatisfy({ $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "-") }) else {
            throw PoolError(
                .invalidParameter,
                "A domain prefix is 1 to 63 lowercase letters, digits and hyphens, and does not start or end with a "
                    + "hyphen.")
        }
        if let word = reservedWords.first(where: { name.contains($0) }) {
            throw PoolError(.invalidParameter, "A domain prefix cannot contain the reserved word \(word).")
        }
    }

    static func checkCustom(_ name: String) throws(PoolError) {
        let labels = name.split(separator: ".", omittingEmptySubsequences: false)
        let ok =
            labels.count >= 2 && name.utf8.count <= 253
            && labels.allSatisfy { l in
                !l.isEmpty && l.utf8.count <= 63 && !l.hasPrefix("-") && !l.hasSuffix("-")
                    && l.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }
            }
        guard ok else {
            throw PoolError(.invalidParameter, "A custom domain is a fully qualified name, such as auth.example.com.")
        }
    }

    /// The names of `pool`'s domains, for the shard's index.
    public static func names(_ pool: Pool?) -> [String] { (pool?.settings.domains ?? []).map(\.domain) }
}
