/// State the server hands clients sealed, as bytes: a Session between challenge steps and
/// a refresh token. Length-prefixed text fields in a fixed order after a kind byte.
enum SealedFields {
    static func encode(kind: UInt8, _ fields: [String]) -> [UInt8] {
        var out: [UInt8] = [kind]
        for f in fields {
            let bytes = Array(f.utf8)
            withUnsafeBytes(of: UInt32(bytes.count).bigEndian) { out += $0 }
            out += bytes
        }
        return out
    }

    /// The fields, if `bytes` is a box of `kind` with exactly `count` of them.
    static func decode(_ bytes: [UInt8], kind: UInt8, count: Int) -> [String]? {
        guard bytes.first == kind else { return nil }
        var fields: [String] = []
        var offset = 1
        while offset < bytes.count {
            guard bytes.count - offset >= 4 else { return nil }
            let n = bytes[offset..<(offset + 4)].reduce(0) { $0 << 8 | Int($1) }
            offset += 4
            guard n >= 0, bytes.count - offset >= n else { return nil }
            fields.append(String(decoding: bytes[offset..<(offset + n)], as: UTF8.self))
            offset += n
        }
        return fields.count == count ? fields : nil
    }
}

/// A challenge Session (NEW_PASSWORD_REQUIRED): who, for which pool and client, since when.
struct SessionState: Equatable {
    var challenge: String
    var pool: String
    var client: String
    var user: String
    var issued: Int64

    static let kind: UInt8 = 1

    var encoded: [UInt8] { SealedFields.encode(kind: Self.kind, [challenge, pool, client, user, String(issued)]) }

    init(challenge: String, pool: String, client: String, user: String, issued: Int64) {
        self.challenge = challenge
        self.pool = pool
        self.client = client
        self.user = user
        self.issued = issued
    }

    init?(decoding bytes: [UInt8]) {
        guard let f = SealedFields.decode(bytes, kind: Self.kind, count: 5), let issued = Int64(f[4]) else {
            return nil
        }
        self.init(challenge: f[0], pool: f[1], client: f[2], user: f[3], issued: issued)
    }
}

/// A refresh token: the user, the sign-in it came from, and its family (`origin_jti`).
struct RefreshState: Equatable {
    var pool: String
    var client: String
    var user: String
    var sub: String
    var authTime: Int64
    var origin: String

    static let kind: UInt8 = 2

    var encoded: [UInt8] { SealedFields.encode(kind: Self.kind, [pool, client, user, sub, String(authTime), origin]) }

    init(pool: String, client: String, user: String, sub: String, authTime: Int64, origin: String) {
        self.pool = pool
        self.client = client
        self.user = user
        self.sub = sub
        self.authTime = authTime
        self.origin = origin
    }

    init?(decoding bytes: [UInt8]) {
        guard let f = SealedFields.decode(bytes, kind: Self.kind, count: 6), let authTime = Int64(f[4]) else {
            return nil
        }
        self.init(pool: f[0], client: f[1], user: f[2], sub: f[3], authTime: authTime, origin: f[5])
    }
}
