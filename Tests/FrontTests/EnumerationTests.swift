import AuthCrypto
import CognitoModel
import Testing
import UserPool

@testable import Front

/// With PreventUserExistenceErrors = ENABLED, each public operation answers a name no user
/// has as it answers a user: the same shape, the same limits, the same Raft writes.
@Suite("No user-existence oracle")
struct EnumerationTests {
    /// What an answer looks like, without what is a user's own (a masked destination's letters).
    struct Shape: Equatable, CustomStringConvertible {
        var outcome: String
        var writes: Int
        var reads: Int
        var description: String { "\(outcome) (\(writes) write(s), \(reads) read(s))" }
    }

    static func masked(_ d: CodeDeliveryDetailsType?) -> String {
        guard let d, let destination = d.destination else { return "no delivery" }
        let shape = destination.replacingOccurrences(
            of: "^[^*@]\\*\\*\\*@[^*]\\*\\*\\*$", with: "x***@y***", options: .regularExpression)
        return "\(d.deliveryMedium?.rawValue ?? "-") \(d.attributeName ?? "-") \(shape)"
    }

    /// Runs `call` and says what came back and how many Raft writes it cost.
    static func shape(
        _ front: TestFront, _ call: () async throws -> String
    ) async -> Shape {
        let before = front.shards.proposalCount
        let readsBefore = front.shards.readCount
        let outcome: String
        do {
            outcome = try await call()
        } catch let e as APIFailure {
            outcome = "\(e.type): \(e.message)"
        } catch {
            outcome = "\(error)"
        }
        return Shape(
            outcome: outcome, writes: front.shards.proposalCount - before, reads: front.shards.readCount - readsBefore)
    }

    @Test("ForgotPassword, ResendConfirmationCode, ConfirmSignUp, ConfirmForgotPassword, InitiateAuth: known and unknown names answer alike, call after call, up to and past the limits")
    func pairsMatch() async throws {
        let front = try TestFront(poolCacheSeconds: 86_400)
        try await front.run { c in
            let pool = try await c.pool(CreateUserPoolRequest(poolName: "p", autoVerifiedAttributes: [.email]))
            let client = try await c.appClient(pool: pool).clientId!
            let poolRecord = try await front.api.store.pool(pool)
            // Names whose simulated answer is a delivery: one in eight answer as a user with no
            // verified channel does (checked apart below), and a confirmed user's resend is
            // answered as an unknown name's.
            func delivers(_ name: String) -> Bool {
                [CodePurpose.recovery, .signUp].allSatisfy {
                    (try? FakeUser.delivery(key: front.api.fakeKey, pool: poolRecord, identifier: name, purpose: $0))
                        != nil
                }
            }
            let unknown = (0..<64).map { "user\($0)" }.filter(delivers)
            let alice = ["-"] + (0..<64).map { "alice\($0)" }.filter(delivers).prefix(5)
            #expect(unknown.count >= 8 && alice.count == 6)
            // Users of each kind, one per operation, so each pair starts from the same history.
            for i in 1...5 {
                try await c.user(
                    pool: pool, alice[i], attributes: ["email": "\(alice[i])@gmail.com", "email_verified": "true"])
                try await c.call(
                    SignUpOperation.self,
                    SignUpRequest(
                        clientId: client, username: "carol\(i)", password: "Passw0rd!",
                        userAttributes: [AttributeType(name: "email", value: "carol\(i)@gmail.com")]))
            }
            func forgot(_ name: String) async throws -> String {
                Self.masked(
                    try await c.call(
                        ForgotPasswordOperation.self, ForgotPasswordRequest(clientId: client, username: name)
                    ).codeDeliveryDetails)
            }
            func resend(_ name: String) async throws -> String {
                Self.masked(
                    try await c.call(
                        ResendConfirmationCodeOperation.self,
                        ResendConfirmationCodeRequest(clientId: client, username: name)
                    ).codeDeliveryDetails)
            }
            func confirm(_ name: String) async throws -> String {
                _ = try await c.call(
                    ConfirmSignUpOperation.self,
                    ConfirmSignUpRequest(clientId: client, username: name, confirmationCode: "000000"))
                return "confirmed"
            }
            func confirmForgot(_ name: String) async throws -> String {
                _ = try await c.call(
                    ConfirmForgotPasswordOperation.self,
                    ConfirmForgotPasswordRequest(
                        clientId: client, username: name, confirmationCode: "000000", password: "Passw0rd!new"))
                return "reset"
            }
            func signIn(_ name: String) async throws -> String {
                _ = try await c.signIn(client: client, name, password: "Wrong0ne!x")
                return "signed in"
            }

            // Each pair six times in a row: five within the limits, the sixth past them.
            // carol<i> signed up, so one code went out to her: the others get one too.
            _ = try await resend(unknown[1])
            _ = try await resend(alice[2])
            let pairs: [(String, (String) async throws -> String, [String], String)] = [
                ("ForgotPassword", forgot, [alice[1]], unknown[0]),
                ("ResendConfirmationCode (unconfirmed, confirmed)", resend, ["carol2", alice[2]], unknown[1]),
                ("ConfirmSignUp (unconfirmed, confirmed)", confirm, ["carol3", alice[3]], unknown[2]),
                ("ConfirmForgotPassword", confirmForgot, [alice[4]], unknown[3]),
                ("InitiateAuth USER_PASSWORD_AUTH", signIn, [alice[5]], unknown[4]),
            ]
            for (operation, call, knownNames, stranger) in pairs {
                for round in 1...6 {
                    let reference = await Self.shape(front) { try await call(stranger) }
                    for known in knownNames {
                        let answer = await Self.shape(front) { try await call(known) }
                        #expect(answer == reference, "\(operation) round \(round): \(known) \(answer) vs \(reference)")
                    }
                    // Past a code limit or the lock nothing is written, for a user as for a
                    // phantom; a failed sign-in is recorded before its verdict is revealed.
                    let limited =
                        reference.outcome.hasPrefix("LimitExceededException")
                        || reference.outcome.hasPrefix("NotAuthorizedException: Password attempts")
                    #expect(reference.writes == (limited ? 0 : 1), "\(operation) round \(round): \(reference)")
                    if round == 6 {
                        let past = operation.hasPrefix("InitiateAuth") ? "NotAuthorizedException: Password attempts" : "LimitExceeded"
                        #expect(reference.outcome.hasPrefix(past), "\(operation): \(reference)")
                    }
                }
            }
            // The same unknown name is answered the same destination every time.
            let again = await Self.shape(front) { try await forgot(unknown[5]) }
            let twice = await Self.shape(front) { try await forgot(unknown[5]) }
            #expect(again == twice)
        }
    }

    @Test("an unknown name's simulated destination is derived from the name: an email is its own, masked as a user's")
    func destinations() async throws {
        let front = try TestFront(poolCacheSeconds: 86_400)
        try await front.run { c in
            let verifying = try await front.api.store.pool(
                try await c.pool(CreateUserPoolRequest(poolName: "v", autoVerifiedAttributes: [.email])))
            let pool = try await front.api.store.pool(try await c.pool())
            let key = front.api.fakeKey
            var hit: CodeDeliveryDetailsType?
            for i in 0..<16 where hit == nil {
                hit = try? FakeUser.delivery(
                    key: key, pool: verifying, identifier: "Bob.Smith\(i)@Example.com", purpose: .signUp)
            }
            #expect(hit?.destination == "B***@E***" && hit?.deliveryMedium == .email)
            // Stable per name; among many names both answers occur, as for real users.
            var refused = 0
            var shapes = Set<String>()
            for i in 0..<200 {
                do throws(PoolError) {
                    let d = try FakeUser.delivery(key: key, pool: pool, identifier: "name\(i)", purpose: .recovery)
                    let again = try FakeUser.delivery(key: key, pool: pool, identifier: "name\(i)", purpose: .recovery)
                    #expect(d.destination == again.destination)
                    shapes.insert(d.destination ?? "")
                } catch {
                    #expect(error.message == MessageRules.noRecoveryChannel.message)
                    refused += 1
                }
            }
            #expect(refused > 0 && refused < 60 && shapes.count > 20)
        }
    }

    @Test("USER_SRP_AUTH in a pool with an email alias: an unknown address gets a username-shaped USER_ID_FOR_SRP, as a known one gets its username")
    func srpAliasShape() async throws {
        try await TestFront(poolCacheSeconds: 86_400).run { c in
            let pool = try await c.pool(CreateUserPoolRequest(poolName: "alias", aliasAttributes: [.email]))
            let client = try await c.appClient(pool: pool).clientId!
            try await c.user(pool: pool, "bob", attributes: ["email": "bob@example.com", "email_verified": "true"])
            var rng = SystemRandomNumberGenerator()
            let srp = SRPClient(poolName: SRPHash.poolName(fromPoolId: pool), password: "x", using: &rng)
            func challenge(_ name: String) async throws -> [String: String] {
                try #require(
                    try await c.call(
                        InitiateAuthOperation.self,
                        InitiateAuthRequest(
                            authFlow: .userSrpAuth, authParameters: ["USERNAME": name, "SRP_A": srp.AHex],
                            clientId: client)
                    ).challengeParameters)
            }
            let known = try await challenge("bob@example.com")
            let unknown = try await challenge("carl@example.com")
            #expect(known["USER_ID_FOR_SRP"] == "bob" && unknown["USER_ID_FOR_SRP"] == "carl")
            #expect(Set(known.keys) == Set(unknown.keys))
            // Salts are hex without leading zeros (as Java prints them), for both alike.
            #expect(abs((known["SALT"]?.count ?? 0) - (unknown["SALT"]?.count ?? 99)) <= 2)
            #expect(try await challenge("carl@example.com")["SALT"] == unknown["SALT"])
        }
    }
}
