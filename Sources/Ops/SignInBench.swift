import AuthCrypto
import CognitoModel
import Crypto
import Foundation
import Histogram
import NodeRPC
import Sharding

/// `cognate bench signin`: sign-ins in a closed loop at a fixed concurrency against any
/// Cognito-compatible endpoint, after creating (or reusing) a pool, a client and users.
public struct SignInBench: Sendable {
    public enum Flow: String, Sendable, CaseIterable {
        case srp, password, refresh
        /// SRP, then the SOFTWARE_TOKEN_MFA challenge answered with the user's TOTP code.
        case srpTotp = "srp+totp"
        /// USER_AUTH with PREFERRED_CHALLENGE WEB_AUTHN, answered with the user's passkey (a
        /// P-256 key this bench registered for it, counter 0 as most passkeys keep).
        case passkey
        /// GetClientToken (client_credentials) for a client with a secret and a custom scope:
        /// a machine-to-machine token, no user.
        case clientCredentials = "client-credentials"
    }

    public struct Options: Sendable {
        public var users = 100
        public var concurrency = 16
        public var seconds = 30.0
        public var flow = Flow.srp
        public var pool: String?
        public var client: String?
        public var password = "Bench-Passw0rd!"
        /// Admin addresses (host:port) of the storage nodes behind the endpoint, whose
        /// `process_cpu_seconds_total` is counted with the endpoint's: the whole service's
        /// CPU per sign-in. Empty for an endpoint that is not a Cognate front.
        public var nodeAdmins: [String] = []
        public init() {}
    }

    public struct Report: Codable, Sendable {
        public var endpoint: String
        public var flow: String
        public var concurrency: Int
        public var seconds: Double
        public var signIns: Int
        public var signInsPerSecond: Double
        public var p50Ms: Double
        public var p90Ms: Double
        public var p99Ms: Double
        public var p999Ms: Double
        public var maxMs: Double
        public var errors: [String: Int]
        /// Sign-ins per second, one entry per second of the run.
        public var timeline: [Double]
        public var p99Timeline: [Double]
        /// Whether the endpoint verified the SRP proof: a deliberately wrong password was refused.
        public var wrongPasswordRefused: Bool?
        /// The endpoint's CPU time per sign-in, from its `process_cpu_seconds_total` before
        /// and after the run (nil where it exports none, e.g. moto).
        public var endpointCPUMsPerSignIn: Double?
        /// This load generator's own CPU time per sign-in.
        public var clientCPUMsPerSignIn: Double?
        /// The storage nodes' CPU time per sign-in, all of them together (nil where none
        /// was named or none answered).
        public var nodesCPUMsPerSignIn: Double?
        /// How many nodes answered `/metrics` before and after the run.
        public var nodesCounted: Int?
        /// The pool and app client signed in to, for `--pool` and `--client` on a later run.
        public var pool: String? = nil
        public var client: String? = nil
    }

    let client: CognitoHTTPClient
    let endpoint: String
    let options: Options
    let authenticators = Authenticators()
    let passkeys = Passkeys()
    let machine = MachineClient()

    /// `client-credentials`: the client the bench made for it, and its secret.
    final class MachineClient: @unchecked Sendable {
        let lock = NSLock()
        var id = ""
        var secret = ""

        func set(_ id: String, _ secret: String) { lock.withLock { (self.id, self.secret) = (id, secret) } }
        func get() -> (String, String) { lock.withLock { (id, secret) } }
    }

    public init(client: CognitoHTTPClient, endpoint: String, options: Options) {
        self.client = client
        self.endpoint = endpoint
        self.options = options
    }

    /// The users' TOTP secrets (`srp+totp`) and the last time step each one's code was used
    /// for: a step answers once, so a user signs in at most once per step (three in any
    /// 30 s), and a run needs about rate × 15 users. `@unchecked Sendable`: under `lock`.
    final class Authenticators: @unchecked Sendable {
        let lock = NSLock()
        var secrets: [String: [UInt8]] = [:]
        var lastStep: [String: Int64] = [:]

        func add(_ user: String, secret: [UInt8]) { lock.withLock { secrets[user] = secret } }

        /// A code of `user`'s authenticator for a step not yet used (now's or the next),
        /// taken; nil if both are used.
        func code(_ user: String, now: Int64) -> String? {
            lock.withLock {
                guard let secret = secrets[user] else { return nil }
                let current = now / TOTP.stepSeconds
                let step = max(current, (lastStep[user] ?? .min) + 1)
                guard step <= current + 1 else { return nil }
                lastStep[user] = step
                return TOTP.code(secret: secret, step: step)
            }
        }
    }

    /// The users' passkeys (`passkey`): a P-256 key and its credential id each.
    /// `@unchecked Sendable`: under `lock`.
    final class Passkeys: @unchecked Sendable {
        let lock = NSLock()
        var keys: [String: (P256.Signing.PrivateKey, [UInt8])] = [:]

        func add(_ user: String, _ key: P256.Signing.PrivateKey, id: [UInt8]) {
            lock.withLock { keys[user] = (key, id) }
        }
        func key(_ user: String) -> (P256.Signing.PrivateKey, [UInt8])? { lock.withLock { keys[user] } }
    }

    /// The relying party the bench's passkeys are for.
    static let relyingParty = "bench.cognate.test"

    /// Creates the pool, client and users unless given; returns (pool, client).
    public func setUp(log: (String) -> Void) async throws -> (String, String) {
        var pool = options.pool
        var appClient = options.client
        if pool == nil {
            var request = CreateUserPoolRequest(poolName: "cognate-bench")
            if options.flow == .passkey {
                request.policies = UserPoolPolicyType(
                    signInPolicy: SignInPolicyType(allowedFirstAuthFactors: [.password, .webAuthn]))
            }
            let p = try await client.call(CreateUserPoolOperation.self, request)
            pool = p.userPool?.id
            log("created pool \(pool ?? "?")")
        }
        guard let pool else { throw CognitoHTTPClient.CallError(type: "Setup", message: "no pool id") }
        if appClient == nil {
            let c = try await client.call(
                CreateUserPoolClientOperation.self,
                CreateUserPoolClientRequest(
                    userPoolId: pool, clientName: "cognate-bench",
                    explicitAuthFlows: [
                        .allowUserSrpAuth, .allowUserPasswordAuth, .allowRefreshTokenAuth, .allowUserAuth,
                    ]))
            appClient = c.userPoolClient?.clientId
        }
        guard let appClient else { throw CognitoHTTPClient.CallError(type: "Setup", message: "no client id") }
        // Users are made `setUpConcurrency` at a time: a hundred thousand take minutes, not an hour.
        let created = try await withThrowingTaskGroup(of: Int.self) { tasks in
            var created = 0
            for i in 0..<options.users {
                if i >= Self.setUpConcurrency, let n = try await tasks.next() { created += n }
                tasks.addTask { try await makeUser(pool: pool, name: "bench-user-\(i)") }
                if (i + 1) % 10_000 == 0 { log("\(i + 1) users") }
            }
            for try await n in tasks { created += n }
            return created
        }
        log("\(options.users) users ready (\(created) created) in pool \(pool), client \(appClient)")
        if options.flow == .srpTotp { try await setUpAuthenticators(pool: pool, clientId: appClient, log: log) }
        if options.flow == .passkey { try await setUpPasskeys(pool: pool, clientId: appClient, log: log) }
        if options.flow == .clientCredentials { try await setUpMachineClient(pool: pool, log: log) }
        return (pool, appClient)
    }

    static let setUpConcurrency = 32

    /// `srp+totp`: MFA OPTIONAL with TOTP in the pool, and a new authenticator for every
    /// user (any earlier one deleted), verified with its first code and turned on.
    func setUpAuthenticators(pool: String, clientId: String, log: (String) -> Void) async throws {
        _ = try await client.call(
            SetUserPoolMfaConfigOperation.self,
            SetUserPoolMfaConfigRequest(
                userPoolId: pool, softwareTokenMfaConfiguration: SoftwareTokenMfaConfigType(enabled: true),
                mfaConfiguration: .optional))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            for i in 0..<options.users {
                if i >= Self.setUpConcurrency { try await tasks.next() }
                tasks.addTask { try await setUpAuthenticator(pool: pool, clientId: clientId, user: "bench-user-\(i)") }
                if (i + 1) % 1_000 == 0 { log("\(i + 1) authenticators") }
            }
            try await tasks.waitForAll()
        }
        log("\(options.users) authenticators set up")
    }

    func setUpAuthenticator(pool: String, clientId: String, user: String) async throws {
        _ = try await client.call(
            AdminDeleteSoftwareTokenOperation.self, AdminDeleteSoftwareTokenRequest(userPoolId: pool, username: user))
        _ = try await client.call(
            AdminSetUserMFAPreferenceOperation.self,
            AdminSetUserMFAPreferenceRequest(
                softwareTokenMfaSettings: SoftwareTokenMfaSettingsType(enabled: false), username: user,
                userPoolId: pool))
        let signedIn = try await initiate(
            clientId, .userPasswordAuth, ["USERNAME": user, "PASSWORD": options.password])
        guard let access = signedIn.authenticationResult?.accessToken else {
            throw CognitoHTTPClient.CallError(type: "Setup", message: "\(user) got no tokens to set up TOTP with")
        }
        let associated = try await client.call(
            AssociateSoftwareTokenOperation.self, AssociateSoftwareTokenRequest(accessToken: access))
        guard let text = associated.secretCode, let secret = Base32.decode(text) else {
            throw CognitoHTTPClient.CallError(type: "Setup", message: "no usable SecretCode for \(user)")
        }
        authenticators.add(user, secret: secret)
        guard let code = authenticators.code(user, now: Int64(Date().timeIntervalSince1970)) else {
            throw CognitoHTTPClient.CallError(type: "Setup", message: "no TOTP step free for \(user)")
        }
        _ = try await client.call(
            VerifySoftwareTokenOperation.self, VerifySoftwareTokenRequest(accessToken: access, userCode: code))
        _ = try await client.call(
            SetUserMFAPreferenceOperation.self,
            SetUserMFAPreferenceRequest(
                softwareTokenMfaSettings: SoftwareTokenMfaSettingsType(enabled: true, preferredMfa: true),
                accessToken: access))
    }

    /// `passkey`: the pool's relying party, and a new passkey registered for every user.
    /// The pool must allow WEB_AUTHN as a first factor (the bench's own pools do).
    func setUpPasskeys(pool: String, clientId: String, log: (String) -> Void) async throws {
        _ = try await client.call(
            SetUserPoolMfaConfigOperation.self,
            SetUserPoolMfaConfigRequest(
                userPoolId: pool, mfaConfiguration: .off,
                webAuthnConfiguration: WebAuthnConfigurationType(
                    relyingPartyId: Self.relyingParty, userVerification: .preferred)))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            for i in 0..<options.users {
                if i >= Self.setUpConcurrency { try await tasks.next() }
                tasks.addTask { try await setUpPasskey(clientId: clientId, user: "bench-user-\(i)") }
                if (i + 1) % 1_000 == 0 { log("\(i + 1) passkeys") }
            }
            try await tasks.waitForAll()
        }
        log("\(options.users) passkeys registered")
    }

    func setUpPasskey(clientId: String, user: String) async throws {
        let signedIn = try await initiate(
            clientId, .userPasswordAuth, ["USERNAME": user, "PASSWORD": options.password])
        guard let access = signedIn.authenticationResult?.accessToken else {
            throw CognitoHTTPClient.CallError(
                type: "Setup", message: "\(user) got no tokens to register a passkey with")
        }
        let started = try await client.call(
            StartWebAuthnRegistrationOperation.self, StartWebAuthnRegistrationRequest(accessToken: access))
        guard case .object(let options) = started.credentialCreationOptions,
            case .string(let challenge)? = options["challenge"]
        else { throw CognitoHTTPClient.CallError(type: "Setup", message: "no challenge in CredentialCreationOptions") }
        let key = P256.Signing.PrivateKey()
        var rng = SystemRandomNumberGenerator()
        let id = (0..<16).map { _ in UInt8.random(in: 0...255, using: &rng) }
        let raw = Array(key.publicKey.x963Representation)
        let cose = CBOR.map([
            (.unsigned(1), .unsigned(2)), (.unsigned(3), .negative(6)), (.negative(0), .unsigned(1)),
            (.negative(1), .bytes(Array(raw[1..<33]))), (.negative(2), .bytes(Array(raw[33..<65]))),
        ]).encoded
        let data =
            Self.authenticatorHead(flags: 0x45) + Array(repeating: 0, count: 16) + [0, UInt8(id.count)] + id + cose
        let attestation = CBOR.map([
            (.text("fmt"), .text("none")), (.text("attStmt"), .map([])), (.text("authData"), .bytes(data)),
        ]).encoded
        let credential = JSONValue.object([
            "id": .string(Base64URL.encode(id)), "rawId": .string(Base64URL.encode(id)), "type": .string("public-key"),
            "response": .object([
                "clientDataJSON": .string(Base64URL.encode(Self.clientData("webauthn.create", challenge: challenge))),
                "attestationObject": .string(Base64URL.encode(attestation)),
            ]),
        ])
        _ = try await client.call(
            CompleteWebAuthnRegistrationOperation.self,
            CompleteWebAuthnRegistrationRequest(accessToken: access, credential: credential))
        passkeys.add(user, key, id: id)
    }

    /// authenticatorData's first 37 bytes: the RP ID hash, the flags, a counter of 0.
    static func authenticatorHead(flags: UInt8) -> [UInt8] {
        Array(SHA256.hash(data: Array(relyingParty.utf8))) + [flags, 0, 0, 0, 0]
    }

    static func clientData(_ type: String, challenge: String) -> [UInt8] {
        Array(#"{"type":"\#(type)","challenge":"\#(challenge)","origin":"https://\#(relyingParty)"}"#.utf8)
    }

    /// `passkey`: USER_AUTH asking for WEB_AUTHN, then the assertion. `wrongKey` signs with
    /// a key that is not the user's (the check that the endpoint verifies signatures).
    func passkeySignIn(clientId: String, user: String, wrongKey: Bool) async throws {
        guard let (key, id) = passkeys.key(user) else {
            throw CognitoHTTPClient.CallError(type: "Setup", message: "\(user) has no passkey")
        }
        let first = try await initiate(clientId, .userAuth, ["USERNAME": user, "PREFERRED_CHALLENGE": "WEB_AUTHN"])
        guard first.challengeName == .webAuthn, let session = first.session,
            let text = first.challengeParameters?["CREDENTIAL_REQUEST_OPTIONS"],
            let options = try? JSONDecoder().decode([String: JSONValue].self, from: Data(text.utf8)),
            case .string(let challenge)? = options["challenge"]
        else { throw CognitoHTTPClient.CallError(type: "NoPasskeyChallenge", message: "WEB_AUTHN not asked") }
        let client = Self.clientData("webauthn.get", challenge: challenge)
        let data = Self.authenticatorHead(flags: 0x05)
        let signer = wrongKey ? P256.Signing.PrivateKey() : key
        let signature = try signer.signature(for: data + Array(SHA256.hash(data: client))).derRepresentation
        let credential = JSONValue.object([
            "id": .string(Base64URL.encode(id)), "rawId": .string(Base64URL.encode(id)), "type": .string("public-key"),
            "response": .object([
                "clientDataJSON": .string(Base64URL.encode(client)),
                "authenticatorData": .string(Base64URL.encode(data)),
                "signature": .string(Base64URL.encode(Array(signature))),
            ]),
        ])
        let json = String(decoding: try JSONEncoder().encode(credential), as: UTF8.self)
        _ = try await self.client.call(
            RespondToAuthChallengeOperation.self,
            RespondToAuthChallengeRequest(
                clientId: clientId, challengeName: .webAuthn, session: session,
                challengeResponses: ["USERNAME": user, "CREDENTIAL": json]))
    }

    /// `client-credentials`: a resource server with one scope and a confidential client
    /// allowed it (made again on each run; the pool keeps the earlier ones).
    func setUpMachineClient(pool: String, log: (String) -> Void) async throws {
        do {
            _ = try await client.call(
                CreateResourceServerOperation.self,
                CreateResourceServerRequest(
                    userPoolId: pool, identifier: "cognate-bench", name: "cognate-bench",
                    scopes: [ResourceServerScopeType(scopeName: "read", scopeDescription: "bench")]))
        } catch let e as CognitoHTTPClient.CallError where e.type == "InvalidParameterException" {}
        let made = try await client.call(
            CreateUserPoolClientOperation.self,
            CreateUserPoolClientRequest(
                userPoolId: pool, clientName: "cognate-bench-m2m", generateSecret: true,
                allowedOAuthFlows: [.clientCredentials], allowedOAuthScopes: ["cognate-bench/read"],
                allowedOAuthFlowsUserPoolClient: true))
        guard let id = made.userPoolClient?.clientId, let secret = made.userPoolClient?.clientSecret else {
            throw CognitoHTTPClient.CallError(type: "Setup", message: "no client secret for client_credentials")
        }
        machine.set(id, secret)
        log("client \(id) for client_credentials (scope cognate-bench/read)")
    }

    /// A bench user with the bench's password: 1 when it was created, 0 when it existed.
    func makeUser(pool: String, name: String) async throws -> Int {
        var created = 0
        do {
            _ = try await client.call(
                AdminCreateUserOperation.self,
                AdminCreateUserRequest(
                    userPoolId: pool, username: name, temporaryPassword: "Temp-Passw0rd!", messageAction: .suppress))
            created = 1
        } catch let e as CognitoHTTPClient.CallError where e.type == "UsernameExistsException" {}
        _ = try await client.call(
            AdminSetUserPasswordOperation.self,
            AdminSetUserPasswordRequest(userPoolId: pool, username: name, password: options.password, permanent: true))
        return created
    }

    func initiate(
        _ clientId: String, _ flow: AuthFlowType, _ parameters: [String: String]
    ) async throws
        -> InitiateAuthResponse
    {
        try await client.call(
            InitiateAuthOperation.self,
            InitiateAuthRequest(authFlow: flow, authParameters: parameters, clientId: clientId))
    }

    /// One sign-in by `flow`; throws the endpoint's error.
    /// `srp`: this user's client state, reused across its sign-ins (the same A, and x and
    /// k·g^x remembered); the server's work is the same as for a fresh client.
    func signIn(
        pool: String, clientId: String, user: String, password: String, refreshToken: String?,
        srp reused: SRPClient? = nil
    ) async throws -> String? {
        switch options.flow {
        case .clientCredentials:
            let (id, secret) = machine.get()
            // The wrong-password probe: a wrong secret of the same length.
            let given = password == options.password ? secret : String(repeating: "x", count: max(secret.count, 24))
            _ = try await client.call(GetClientTokenOperation.self, GetClientTokenRequest(clientId: id, secret: given))
            return nil
        case .passkey:
            try await passkeySignIn(clientId: clientId, user: user, wrongKey: password != options.password)
            return nil
        case .password:
            let r = try await initiate(clientId, .userPasswordAuth, ["USERNAME": user, "PASSWORD": password])
            return r.authenticationResult?.refreshToken
        case .refresh:
            if let refreshToken {
                _ = try await initiate(clientId, .refreshTokenAuth, ["REFRESH_TOKEN": refreshToken])
                return refreshToken
            }
            let r = try await initiate(clientId, .userPasswordAuth, ["USERNAME": user, "PASSWORD": password])
            return r.authenticationResult?.refreshToken
        case .srp, .srpTotp:
            // The code's step is taken first: a user whose steps are used is skipped, not tried.
            var code: String?
            if options.flow == .srpTotp {
                code = authenticators.code(user, now: Int64(Date().timeIntervalSince1970))
                if code == nil { throw StepsUsed() }
            }
            var rng = SystemRandomNumberGenerator()
            let srp = reused ?? SRPClient(poolName: SRPHash.poolName(fromPoolId: pool), password: password, using: &rng)
            let first = try await initiate(clientId, .userSrpAuth, ["USERNAME": user, "SRP_A": srp.AHex])
            guard let params = first.challengeParameters, let salt = params["SALT"], let b = params["SRP_B"],
                let block = params["SECRET_BLOCK"], let userId = params["USER_ID_FOR_SRP"],
                let blockBytes = Self.lenientBase64(block)
            else {
                throw CognitoHTTPClient.CallError(type: "BadChallenge", message: "PASSWORD_VERIFIER parameters missing")
            }
            let timestamp = CognitoTimestamp.format(Int64(Date().timeIntervalSince1970))
            let signature = try srp.signature(
                userIdForSrp: userId, BHex: b, saltHex: salt, secretBlock: blockBytes, timestamp: timestamp)
            // As pycognito does: the challenge's USERNAME answers, USER_ID_FOR_SRP is signed.
            let responses = [
                "USERNAME": params["USERNAME"] ?? user, "PASSWORD_CLAIM_SECRET_BLOCK": block,
                "PASSWORD_CLAIM_SIGNATURE": signature, "TIMESTAMP": timestamp,
            ]
            let second = try await client.call(
                RespondToAuthChallengeOperation.self,
                RespondToAuthChallengeRequest(
                    clientId: clientId, challengeName: .passwordVerifier, challengeResponses: responses))
            guard options.flow == .srpTotp else { return nil }
            guard second.challengeName == .softwareTokenMfa, let session = second.session else {
                throw CognitoHTTPClient.CallError(type: "NoMfaChallenge", message: "SOFTWARE_TOKEN_MFA not asked")
            }
            _ = try await client.call(
                RespondToAuthChallengeOperation.self,
                RespondToAuthChallengeRequest(
                    clientId: clientId, challengeName: .softwareTokenMfa, session: session,
                    challengeResponses: ["USERNAME": user, "SOFTWARE_TOKEN_MFA_CODE": code ?? ""]))
            return nil
        }
    }

    /// `srp+totp`: every step of this user's authenticator that could answer now is used.
    struct StepsUsed: Error {}

    /// Latencies in HdrHistograms (microseconds): one for the run, one per second.
    /// `@unchecked Sendable`: every access is under `lock`.
    /// Base64 as Python's b64decode reads it by default: characters outside the alphabet
    /// are skipped (some emulators send a non-base64 SECRET_BLOCK; clients still sign it).
    static func lenientBase64(_ text: String) -> [UInt8]? {
        if let strict = Base64.decode(text) { return strict }
        var kept = String(text.filter { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "+" || $0 == "/") })
        kept = String(kept.prefix(kept.count - kept.count % 4 == kept.count ? kept.count : kept.count))
        while kept.count % 4 != 0 { kept += "=" }
        return Base64.decode(kept)
    }

    final class Recorder: @unchecked Sendable {
        let lock = NSLock()
        var latencies: [Double] = []
        var all = Histogram<UInt64>(highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: .three)
        var perSecond: [Int: Histogram<UInt64>] = [:]
        var errors: [String: Int] = [:]

        func record(second: Int, ms: Double) {
            let us = UInt64(max(1, ms * 1000))
            lock.lock()
            latencies.append(ms)
            all.record(us)
            if perSecond[second] == nil {
                perSecond[second] = Histogram<UInt64>(
                    highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: .three)
            }
            perSecond[second]!.record(us)
            lock.unlock()
        }

        func fail(_ type: String) {
            lock.lock()
            errors[type, default: 0] += 1
            lock.unlock()
        }

        /// (sign-ins so far, p99 of the last 2,000 in ms, errors so far) for the progress line.
        func snapshot() -> (Int, Double, Int) {
            lock.lock()
            defer { lock.unlock() }
            let recent = latencies.suffix(2000).sorted()
            return (
                latencies.count, recent.isEmpty ? 0 : recent[Int(Double(recent.count - 1) * 0.99)],
                errors.values.reduce(0, +)
            )
        }
    }

    public func run(
        pool: String, clientId: String, progress: @escaping @Sendable (String) -> Void
    ) async throws -> Report {
        // Does the endpoint check the proof? One sign-in with a wrong password must fail.
        var wrongRefused: Bool?
        if options.flow != .refresh {
            do {
                _ = try await signIn(
                    pool: pool, clientId: clientId, user: "bench-user-0", password: "Not-the-passw0rd!",
                    refreshToken: nil)
                wrongRefused = false
            } catch let e as CognitoHTTPClient.CallError where e.type == "NotAuthorizedException" {
                wrongRefused = true
            } catch {
                wrongRefused = nil  // failed for another reason: unknown
            }
        }
        let nodes = options.nodeAdmins.compactMap {
            try? CognitoHTTPClient(endpoint: "http://\($0)", region: "", accessKey: "", secretKey: "", timeout: 3)
        }
        let nodesBefore = await Self.cpuSeconds(of: nodes)
        let endpointCPU = await client.processCPUSeconds()
        let ownCPU = ProcessCPU.seconds()
        let recorder = Recorder()
        let start = Date()
        let deadline = start.addingTimeInterval(options.seconds)
        let ticker = Task {
            var last = 0
            while Date() < deadline {
                try? await Task.sleep(for: .seconds(1))
                let (n, p99, errors) = recorder.snapshot()
                progress(
                    String(
                        format: "\r%5.0fs  %7.1f sign-ins/s  p99 %6.1f ms  errors %d   ",
                        Date().timeIntervalSince(start), Double(n - last), p99, errors))
                last = n
            }
        }
        await withTaskGroup(of: Void.self) { group in
            for w in 0..<options.concurrency {
                group.addTask { [options] in
                    var refresh: String?
                    var clients: [String: SRPClient] = [:]
                    var rng = SystemRandomNumberGenerator()
                    var i = w
                    var skipped = 0
                    while Date() < deadline {
                        let user = "bench-user-\(i % options.users)"
                        i += options.concurrency
                        let began = Date()
                        do {
                            var srp: SRPClient?
                            if options.flow == .srp || options.flow == .srpTotp {
                                srp =
                                    clients[user]
                                    ?? SRPClient(
                                        poolName: SRPHash.poolName(fromPoolId: pool), password: options.password,
                                        using: &rng)
                                clients[user] = srp
                            }
                            refresh =
                                try await signIn(
                                    pool: pool, clientId: clientId, user: user, password: options.password,
                                    refreshToken: refresh, srp: srp) ?? refresh
                            let ms = Date().timeIntervalSince(began) * 1000
                            recorder.record(second: Int(began.timeIntervalSince(start)), ms: ms)
                            skipped = 0
                        } catch is StepsUsed {
                            // Every user's codes of now are used: wait for the next step.
                            skipped += 1
                            if skipped >= options.users { try? await Task.sleep(for: .milliseconds(250)) }
                            continue
                        } catch let e as CognitoHTTPClient.CallError {
                            recorder.fail(e.type)
                        } catch {
                            recorder.fail(String(describing: type(of: error)))
                        }
                    }
                }
            }
        }
        ticker.cancel()
        progress("\n")
        let elapsed = Date().timeIntervalSince(start)
        let h = recorder.all
        func perSignIn(_ cpuSeconds: Double?) -> Double? {
            guard let cpuSeconds, h.totalCount > 0 else { return nil }
            return cpuSeconds * 1000 / Double(h.totalCount)
        }
        let endpointCPUUsed: Double? =
            if let before = endpointCPU, let after = await client.processCPUSeconds() { after - before } else { nil }
        let nodesAfter = await Self.cpuSeconds(of: nodes)
        // Only nodes that answered both times; one that restarted in between (its counter
        // went back) is left out rather than counted negative.
        let nodeDeltas = zip(nodesBefore, nodesAfter).compactMap { b, a -> Double? in
            guard let b, let a, a >= b else { return nil }
            return a - b
        }
        func pct(_ p: Double) -> Double { h.totalCount == 0 ? 0 : Double(h.valueAtPercentile(p)) / 1000 }
        let seconds = Int(options.seconds.rounded(.up))
        let timeline = (0..<seconds).map { Double(recorder.perSecond[$0]?.totalCount ?? 0) }
        let p99s = (0..<seconds).map { s -> Double in
            recorder.perSecond[s].map { Double($0.valueAtPercentile(99)) / 1000 } ?? 0
        }
        return Report(
            endpoint: endpoint, flow: options.flow.rawValue, concurrency: options.concurrency, seconds: elapsed,
            signIns: Int(h.totalCount),
            signInsPerSecond: Double(h.totalCount) / elapsed, p50Ms: pct(50), p90Ms: pct(90), p99Ms: pct(99),
            p999Ms: pct(99.9),
            maxMs: Double(h.max) / 1000, errors: recorder.errors, timeline: timeline, p99Timeline: p99s,
            wrongPasswordRefused: wrongRefused,
            endpointCPUMsPerSignIn: perSignIn(endpointCPUUsed),
            clientCPUMsPerSignIn: perSignIn(ProcessCPU.seconds() - ownCPU),
            nodesCPUMsPerSignIn: nodeDeltas.isEmpty ? nil : perSignIn(nodeDeltas.reduce(0, +)),
            nodesCounted: nodes.isEmpty ? nil : nodeDeltas.count,
            pool: pool, client: clientId)
    }

    /// Each client's `process_cpu_seconds_total`, nil for one that did not answer.
    static func cpuSeconds(of clients: [CognitoHTTPClient]) async -> [Double?] {
        var values: [Double?] = []
        for c in clients { values.append(await c.processCPUSeconds()) }
        return values
    }
}
