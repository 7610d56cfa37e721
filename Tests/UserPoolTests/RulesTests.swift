import AuthCrypto
import CognitoModel
import Testing

@testable import UserPool

/// One test per rule of the core, without a server: the front only decodes, calls these and
/// encodes (its own tests, in FrontTests, go through every operation).
@Suite("The domain's rules")
struct RulesTests {
    typealias F = SignInFixtures

    static func pool(_ configure: (inout CreateUserPoolRequest) -> Void = { _ in }) throws(PoolError) -> Pool {
        var r = CreateUserPoolRequest(poolName: "rules")
        configure(&r)
        return try PoolConfigRules.pool(
            from: r, id: "us-east-1_Rules", signingKey: SealedSigningKey(keyId: "k", sealed: []), now: 10)
    }

    static func refusal(_ body: () throws(PoolError) -> Void) -> PoolError? {
        do throws(PoolError) {
            try body()
            return nil
        } catch {
            return error
        }
    }

    // MARK: PoolRules

    @Test("password policy: each requirement refused with Cognito's words")
    func passwordPolicy() {
        let policy = PasswordPolicy()
        #expect(Self.refusal { () throws(PoolError) in try PoolRules.validatePassword("Passw0rd!", policy: policy) } == nil)
        let cases = [
            ("Pw0!", "Password not long enough"), ("passw0rd!", "Password must have uppercase characters"),
            ("PASSW0RD!", "Password must have lowercase characters"), ("Password!", "Password must have numeric characters"),
            ("Passw0rdd", "Password must have symbol characters"),
        ]
        for (password, words) in cases {
            let e = Self.refusal { () throws(PoolError) in try PoolRules.validatePassword(password, policy: policy) }
            #expect(e?.code == .invalidPassword)
            #expect(e?.message == "Password did not conform with policy: \(words)")
        }
    }

    @Test("usernames: canonical by case sensitivity; email or phone as username")
    func usernames() throws {
        let sensitive = try Self.pool()
        #expect(PoolRules.canonical("Ann", in: sensitive) == "Ann")
        let insensitive = try Self.pool { $0.usernameConfiguration = UsernameConfigurationType(caseSensitive: false) }
        #expect(PoolRules.canonical("Ann", in: insensitive) == "ann")
        let byEmail = try Self.pool { $0.usernameAttributes = [.email] }
        #expect(try PoolRules.usernameAttribute(of: "a@b.co", in: byEmail) == "email")
        let e = Self.refusal { () throws(PoolError) in _ = try PoolRules.usernameAttribute(of: "ann", in: byEmail) }
        #expect(e?.message == "Username should be an email.")
        #expect(PoolRules.isPhone("+15555550100") && !PoolRules.isPhone("5555550100"))
    }

    // MARK: SchemaRules

    @Test("schema: standard attributes, birthdate 10/10, custom ones need a type and sane constraints")
    func schema() {
        let standard = SchemaRules.standardSchema
        #expect(standard.count == SchemaRules.standardNames.count)
        #expect(standard.first { $0.name == "birthdate" }.map { ($0.minLength, $0.maxLength) } ?? (0, 0) == (10, 10))
        func refused(_ a: SchemaAttributeType) -> PoolError? {
            Self.refusal { () throws(PoolError) in _ = try SchemaRules.schema(from: [a]) }
        }
        #expect(refused(SchemaAttributeType(name: "color"))?.code == .invalidParameter)
        #expect(refused(SchemaAttributeType(name: "email", attributeDataType: .number)) != nil)
        #expect(refused(SchemaAttributeType(name: "email", developerOnlyAttribute: true)) != nil)
        let long = StringAttributeConstraintsType(maxLength: "2049")
        #expect(refused(SchemaAttributeType(name: "x", attributeDataType: .string, stringAttributeConstraints: long)) != nil)
        let ok = Self.refusal { () throws(PoolError) in
            let s = try SchemaRules.schema(from: [
                SchemaAttributeType(name: "x", attributeDataType: .string, developerOnlyAttribute: true)
            ])
            #expect(s.last?.name == "dev:custom:x" && s.last?.developerOnly == true)
        }
        #expect(ok == nil)
    }

    @Test("AddCustomAttributes: added once, a second time refused, at most 50")
    func addingCustomAttributes() throws {
        let one = try SchemaRules.adding([SchemaAttributeType(name: "a", attributeDataType: .string)], to: SchemaRules.standardSchema)
        #expect(one.last?.name == "custom:a")
        let again = Self.refusal { () throws(PoolError) in
            _ = try SchemaRules.adding([SchemaAttributeType(name: "a", attributeDataType: .number)], to: one)
        }
        #expect(again?.message.contains("Existing attribute already has name custom:a") == true)
        let many = (0..<51).map { SchemaAttributeType(name: "c\($0)", attributeDataType: .string) }
        #expect(Self.refusal { () throws(PoolError) in _ = try SchemaRules.adding(many, to: SchemaRules.standardSchema) } != nil)
    }

    // MARK: AttributeRules

    @Test("attributes: every unknown name on its own line; sub and immutable ones refused; formats checked")
    func attributes() throws {
        let pool = try Self.pool()
        let unknown = Self.refusal { () throws(PoolError) in
            _ = try AttributeRules.validate(["shoe": "1", "hat": "2"], pool: pool, writer: .admin)
        }
        #expect(unknown?.message == "user.hat: Attribute does not exist in the schema.\nuser.shoe: Attribute does not exist in the schema.\n")
        let sub = Self.refusal { () throws(PoolError) in _ = try AttributeRules.validate(["sub": "x"], pool: pool, writer: .admin) }
        #expect(sub?.message == "Cannot modify the non-mutable attribute sub")
        let email = Self.refusal { () throws(PoolError) in _ = try AttributeRules.validate(["email": "nope"], pool: pool, writer: .admin) }
        #expect(email?.message == "Invalid email address format.")
        let deletion = Self.refusal { () throws(PoolError) in try AttributeRules.validateDeletion(["shoe", "sub"], pool: pool) }
        #expect(deletion?.message.contains("user.shoe: Attribute does not exist in the schema.") == true)
    }

    @Test("control characters (CR LF as a pair, NEL, NUL, C1, line separators) are refused in emails and phone numbers")
    func controlCharacters() throws {
        let pool = try Self.pool()
        for bad in ["m@example.com\r\nRSET\r\nNOOP", "m@example.com\r\n", "m@exa\u{85}mple.com", "m\u{0}@example.com",
            "m@example.com\n", "m@example.com\r", "m@ex\u{9B}ample.com", "m@example.com\u{2028}x", "m@example.com>x"]
        {
            let refusal = Self.refusal { () throws(PoolError) in
                _ = try AttributeRules.validate(["email": bad], pool: pool, writer: .admin)
            }
            #expect(refusal?.code == .invalidParameter && refusal?.message == "Invalid email address format.", "\(bad.debugDescription)")
        }
        for bad in ["+15551234567\r\n", "+1555\u{0}1234", "+1\u{85}5551234"] {
            let refusal = Self.refusal { () throws(PoolError) in
                _ = try AttributeRules.validate(["phone_number": bad], pool: pool, writer: .admin)
            }
            #expect(refusal?.message == "Invalid phone number format.", "\(bad.debugDescription)")
        }
        #expect(ControlCharacters.contains("a\r\nb") && ControlCharacters.contains("\u{85}") && ControlCharacters.contains("\u{0}"))
        #expect(ControlCharacters.removed(from: "a\r\nb\u{85}c\u{0}d\u{2029}e") == "abcde")
        #expect(!ControlCharacters.contains("ålice ünïcode 名前 ✓"))
    }

    @Test("boolean attributes are accepted in any case and stored lowercased (email_verified = True)")
    func booleanCase() throws {
        let pool = try Self.pool()
        let stored = try AttributeRules.validate(
            ["email": "a@example.com", "email_verified": "True", "phone_number_verified": "FALSE"], pool: pool,
            writer: .admin)
        #expect(stored["email_verified"] == "true" && stored["phone_number_verified"] == "false")
        #expect(stored["email"] == "a@example.com")
        let refusal = Self.refusal { () throws(PoolError) in
            _ = try AttributeRules.validate(["email_verified": "yes"], pool: pool, writer: .admin)
        }
        #expect(refusal?.message == "user.email_verified: Boolean must be true or false\n")
    }

    @Test("client permissions: verification flags and developer-only attributes are never the user's to write or read")
    func permissions() throws {
        let pool = try Self.pool { $0.schema = [SchemaAttributeType(name: "t", attributeDataType: .string, developerOnlyAttribute: true)] }
        var client = F.client()
        client.writeAttributes = ["name"]
        #expect(AttributeRules.checkWritable(["name": "x"], client: client, pool: pool) == nil)
        #expect(AttributeRules.checkWritable(["nickname": "x"], client: client, pool: pool)?.code == .notAuthorized)
        #expect(AttributeRules.checkWritable(["dev:custom:t": "x"], client: nil, pool: pool) != nil)
        var user = F.user()
        user.attributes = ["name": "N", "dev:custom:t": "secret"]
        #expect(AttributeRules.readable(user, client: nil, pool: pool).keys.sorted() == ["name", "sub"])
        AttributeRules.apply(["email": "a@b.co", "email_verified": "true"], to: &user, byAdmin: false)
        #expect(user.attributes["email_verified"] == "false")
    }

    // MARK: ClientRules

    @Test("clients: Cognito's defaults; an update resets what it leaves out; legacy and ALLOW_ flows do not mix")
    func clients() throws {
        let pool = try Self.pool()
        func make(_ r: CreateUserPoolClientRequest) throws(PoolError) -> AppClient {
            try ClientRules.client(
                .init(r), id: "c", poolId: pool.id, name: r.clientName, secret: nil, pool: pool, createdAt: 1, now: 1)
        }
        let plain = try make(CreateUserPoolClientRequest(userPoolId: pool.id, clientName: "app"))
        #expect(plain.preventUserExistenceErrors == .legacy && plain.refreshTokenValidity == 30)
        let mixed = Self.refusal { () throws(PoolError) in
            _ = try make(CreateUserPoolClientRequest(userPoolId: pool.id, clientName: "a", explicitAuthFlows: [.adminNoSrpAuth, .allowUserSrpAuth]))
        }
        #expect(mixed?.code == .invalidParameter)
        let unknownRead = Self.refusal { () throws(PoolError) in
            _ = try make(CreateUserPoolClientRequest(userPoolId: pool.id, clientName: "a", readAttributes: ["shoe"]))
        }
        #expect(unknownRead?.message == "Invalid read attributes specified while creating a client")
        let oauth = Self.refusal { () throws(PoolError) in
            _ = try make(CreateUserPoolClientRequest(userPoolId: pool.id, clientName: "a", allowedOAuthFlows: [.code]))
        }
        #expect(oauth != nil)
    }

    // MARK: PoolConfigRules

    @Test("MFA at CreateUserPool is SMS MFA and needs an SmsConfiguration; UpdateUserPool may turn it on the same way")
    func mfaAtCreation() throws {
        let missing = Self.refusal { () throws(PoolError) in _ = try Self.pool { $0.mfaConfiguration = .on } }
        #expect(missing?.code == .invalidParameter)
        let sms = SmsConfigurationType(snsCallerArn: "arn:aws:iam::123456789012:role/sns")
        let pool = try Self.pool {
            $0.mfaConfiguration = .optional
            $0.smsConfiguration = sms
        }
        #expect(pool.mfaConfiguration == .optional && MfaRules.allowsSms(pool) && !MfaRules.allowsSoftwareToken(pool))
        let plain = try Self.pool()
        var on = UpdateUserPoolRequest(userPoolId: plain.id)
        on.mfaConfiguration = .on
        #expect(throws: PoolError.self) { try PoolConfigRules.updated(plain, with: on, now: 2) }
        on.smsConfiguration = sms
        let updated = try PoolConfigRules.updated(plain, with: on, now: 2)
        #expect(updated.mfaConfiguration == .on && MfaRules.allowsSms(updated))
    }

    @Test("pools: defaults, settings kept, recovery priorities unique, username and alias attributes exclusive")
    func pools() throws {
        let pool = try Self.pool()
        #expect(pool.caseSensitive && pool.mfaConfiguration == .off && pool.deletionProtection == .inactive)
        let both = Self.refusal { () throws(PoolError) in
            _ = try Self.pool {
                $0.usernameAttributes = [.email]
                $0.aliasAttributes = [.phoneNumber]
            }
        }
        #expect(both?.code == .invalidParameter)
        let duplicate = Self.refusal { () throws(PoolError) in
            _ = try Self.pool {
                $0.accountRecoverySetting = AccountRecoverySettingType(recoveryMechanisms: [
                    RecoveryOptionType(priority: 1, name: .verifiedEmail),
                    RecoveryOptionType(priority: 1, name: .verifiedPhoneNumber),
                ])
            }
        }
        #expect(duplicate?.message == "Priorities of the recovery mechanisms must be unique.")
        let updated = try PoolConfigRules.updated(
            pool, with: UpdateUserPoolRequest(userPoolId: pool.id, emailVerificationSubject: "Hi"), now: 20)
        #expect(updated.settings.emailVerificationSubject == "Hi" && updated.modifiedAt == 20 && updated.id == pool.id)
    }

    // MARK: UserRules

    @Test("users: statuses move only as Cognito moves them")
    func userLifecycle() throws {
        let pool = try Self.pool()
        var attributes: [String: String] = [:]
        let (name, sub) = try UserRules.identity(for: "Zed", in: pool, attributes: &attributes, newSub: "s-1")
        #expect(name == "Zed" && sub == "s-1")
        var user = UserRules.newUser(
            pool: pool, username: name, sub: sub, attributes: [:], verifier: F.verifier, creation: .signUp, now: 5)
        #expect(user.status == .unconfirmed && user.version == 1)
        try UserRules.confirm(&user, now: 6)
        #expect(user.status == .confirmed)
        #expect(Self.refusal { () throws(PoolError) in try UserRules.confirm(&user, now: 7) } != nil)
        UserRules.setPassword(&user, verifier: F.verifier, permanent: false, pool: pool, now: 8)
        #expect(user.status == .forceChangePassword && user.temporaryPasswordExpiresAt == 8 + 7 * 86_400)
        try UserRules.completeNewPassword(&user, verifier: F.verifier, policy: pool.policy, now: 9)
        #expect(user.status == .confirmed && user.temporaryPasswordExpiresAt == nil)
        UserRules.setEnabled(&user, false, nowMilliseconds: 9_000, now: 9)
        #expect(!user.enabled && user.signedOutAt == 9_000)
        UserRules.revoke(&user, origin: "o")
        #expect(user.revokedOrigins == ["o"])
    }

    // MARK: ListRules

    @Test("listings: the filter language and the pagination token")
    func listings() throws {
        let filter = try #require(try ListRules.filter(#"email ^= "ann""#))
        var user = F.user()
        user.attributes["email"] = "ann@example.com"
        #expect(filter.matches(user))
        #expect(Self.refusal { () throws(PoolError) in _ = try ListRules.filter("email = ann") } != nil)
        let cursor = ListRules.Cursor(shardIndex: 2, after: "bob")
        #expect(try ListRules.Cursor(token: cursor.token, shards: 3) == cursor)
        #expect(Self.refusal { () throws(PoolError) in _ = try ListRules.Cursor(token: cursor.token, shards: 2) } != nil)
    }

    // MARK: TokenRules.claims

    @Test("token claims: Cognito's and no others; groups only when the user has some")
    func claims() throws {
        let ids = TokenRules.TokenIDs(originJti: "o", eventId: "e", accessJti: "a", idJti: "i")
        var user = F.user()
        user.attributes = ["email": "ann@example.com"]
        let (access, id) = TokenRules.claims(
            user: user, client: F.client(), pool: F.pool, issuer: "http://x/p", authTime: 1, now: 2, ids: ids)
        #expect(access.groups == nil && access.originJti == "o" && access.exp == 2 + 3_600)
        #expect(id.attributes["email_verified"] == "false")
        #expect(!id.attributes.keys.contains { $0.hasPrefix("cognate") })
    }

    // MARK: TransferRules

    @Test("export and import: the verifier only sealed, cluster-bound state left behind, pool name kept")
    func transfer() throws {
        var user = F.user()
        user.groups = ["staff", "gone"]
        user.failedAttempts = 4
        user.lockedUntil = 99
        user.signedOutAt = 7
        user.revokedOrigins = ["o"]
        user.codes = CodeState()
        user.version = 12
        let (record, secrets) = TransferRules.exported(user)
        #expect(record.verifier == nil && record.codes == nil && record.revokedOrigins == nil)
        #expect(record.failedAttempts == 0 && record.lockedUntil == nil && record.signedOutAt == nil)
        #expect(record.version == 1 && secrets.verifier == user.verifier)
        var target = F.pool
        target.id = "eu-west-1_SignIn"
        let back = try TransferRules.imported(record, secrets: secrets, into: target, groups: ["staff"])
        #expect(back.poolId == target.id && back.verifier == user.verifier && back.groups == ["staff"])
        #expect(try TransferRules.imported(record, secrets: secrets, into: target, groups: []).groups == nil)
        target.id = "us-east-1_Other"
        let refused = Self.refusal { () throws(PoolError) in
            _ = try TransferRules.imported(record, secrets: secrets, into: target, groups: [])
        }
        #expect(refused?.message.contains("ends in _SignIn") == true)
        let bare = Self.refusal { () throws(PoolError) in
            _ = try TransferRules.imported(record, secrets: TransferSecrets(verifier: nil), into: F.pool, groups: [])
        }
        #expect(bare?.message.contains("no password verifier") == true)
    }
}
