import CognitoModel
import Foundation
import UserPool

/// Codes and the messages that carry them: confirming a sign-up, recovering a password,
/// verifying an attribute, inviting a user. A code's hash goes into the user's record and
/// its message into the shard's outbox in the same write (`CodeRules`, `MessageRules`).
extension API {
    /// Draws a code, records its hash on `user` and makes its message.
    func issueCode(
        _ user: inout User, pool: Pool, purpose: CodePurpose, kind: OutboxMessage.Kind, medium: DeliveryMediumType,
        attribute: String, link: MessageRules.ConfirmationLink? = nil
    ) throws(PoolError) -> (OutboxMessage, CodeDeliveryDetailsType) {
        guard let destination = user.attributes[attribute] else {
            throw PoolError(.invalidParameter, "The user has no \(attribute) to send a code to.")
        }
        var rng = SystemRandomNumberGenerator()
        let code = CodeRules.newCode(using: &rng)
        let t = now()
        try CodeRules.issue(
            &user, purpose: purpose, attribute: attribute, digest: digest(code, user, pool, purpose, attribute), now: t)
        let message = MessageRules.verification(
            kind: kind, user: user, pool: pool, medium: medium, destination: destination, code: code, now: t,
            link: link)
        return (message, MessageRules.delivery(medium, attribute: attribute, destination: destination))
    }

    var codes: CodeService { CodeService(store: store, codeKey: auth.codeKey) }

    func digest(_ code: String, _ user: User, _ pool: Pool, _ purpose: CodePurpose, _ attribute: String?) -> [UInt8] {
        codes.digest(code, user, pool, purpose, attribute)
    }

    /// Sends a code to an existing user (with `change` made in the same write).
    @discardableResult
    func sendCode(
        _ user: User, pool: Pool, purpose: CodePurpose, kind: OutboxMessage.Kind, medium: DeliveryMediumType,
        attribute: String, link: MessageRules.ConfirmationLink? = nil,
        change: (inout User) throws(PoolError) -> Void = { _ in }
    ) async throws -> CodeDeliveryDetailsType {
        guard let destination = user.attributes[attribute] else {
            throw PoolError(.invalidParameter, "The user has no \(attribute) to send a code to.")
        }
        let t = now()
        try await codes.send(
            user, pool: pool, purpose: purpose, attribute: attribute, now: t,
            message: { code in
                MessageRules.verification(
                    kind: kind, user: user, pool: pool, medium: medium, destination: destination, code: code, now: t,
                    link: link)
            }, change: change)
        return MessageRules.delivery(medium, attribute: attribute, destination: destination)
    }

    /// Checks a code against the user's record and, when right, makes `then`'s change in
    /// the same write; a wrong code is counted. Throws the verdict's refusal.
    func useCode(
        _ code: String, user: User, pool: Pool, purpose: CodePurpose, attribute: String?,
        then: (inout User, _ sentTo: String?) throws(PoolError) -> Void
    ) async throws {
        try await codes.use(
            code, user: user, pool: pool, purpose: purpose, attribute: attribute, now: now(), then: then)
    }

    /// The user a public code operation names; with PreventUserExistenceErrors an unknown
    /// one is nil (and the operation answers as a phantom does).
    ///
    /// When the client hides existence the user is found with the reads a sign-in makes,
    /// the same whether or not one exists (a sub is looked for only when the name is shaped
    /// like one, for a user and a non-user alike).
    func codeUser(pool: Pool, client: AppClient, username: String) async throws -> User? {
        guard client.hidesUserExistence else { return try await store.resolve(pool: pool, username: username) }
        let (found, _) = try await store.resolveForSignIn(pool: pool, identifier: username)
        if let user = found { return user }
        guard UUID(uuidString: username) != nil else { return nil }
        return try await store.user(pool: pool, sub: username)
    }

    /// Counts a code sent to, or given for, a name whose answer must not tell whether a user
    /// has it, against the limits a user has, in one Raft write as a user's code costs:
    /// returns for a send, throws CodeMismatch for a check, LimitExceeded past the limits.
    ///
    /// As for a user, the counters are read first and a request past a limit is refused
    /// without a write; the write checks them again, in log order.
    func phantomCode(pool: Pool, identifier: String, _ use: PhantomCodeUse) async throws {
        let canonical = PoolRules.canonical(identifier, in: pool)
        let shard = store.userShard(pool: pool.id, canonical: canonical)
        let t = now()
        let read = try await store.query(shard, .phantomCodes(poolId: pool.id, canonical: canonical))
        guard case .codeState(let stored) = read else {
            throw PoolError(.internalError, "unexpected reply reading a name's code counters")
        }
        var counters = stored ?? CodeState()
        switch use {
        case .send: try CodeRules.countSend(&counters, now: t)
        case .check: if CodeRules.countWrong(&counters, now: t) == .limited { throw CodeRules.limited }
        }
        _ = try await store.propose(shard, .phantomCode(poolId: pool.id, canonical: canonical, use: use, now: t))
    }

    /// The read a phantom's answer makes of its counters, made for a user too when the
    /// client hides user existence, so both cost the same reads (its answer is not used).
    func balancePhantomRead(pool: Pool, client: AppClient, identifier: String) async throws {
        guard client.hidesUserExistence else { return }
        let canonical = PoolRules.canonical(identifier, in: pool)
        _ = try await store.query(
            store.userShard(pool: pool.id, canonical: canonical), .phantomCodes(poolId: pool.id, canonical: canonical))
    }

    /// What a name no user has is answered where a code would have gone: a destination
    /// drawn from the name, stable per name, after a send counted as a user's would be.
    func simulatedDelivery(
        pool: Pool, identifier: String, purpose: CodePurpose
    ) async throws
        -> CodeDeliveryDetailsType
    {
        let details = try FakeUser.delivery(key: fakeKey, pool: pool, identifier: identifier, purpose: purpose)
        try await phantomCode(pool: pool, identifier: identifier, .send)
        return details
    }

    /// A wrong code for a phantom: counted, then CodeMismatch (or LimitExceeded).
    func phantomWrongCode(pool: Pool, identifier: String) async throws -> Never {
        try await phantomCode(pool: pool, identifier: identifier, .check)
        throw CodeRules.Verdict.mismatch.refusal ?? PoolError(.codeMismatch, "")
    }

    var fakeKey: [UInt8] { auth.fakeSaltKey.withUnsafeBytes { Array($0) } }

    func publicClient(_ clientId: String, username: String, secretHash: String?) async throws -> (AppClient, Pool) {
        let client = try await store.appClient(id: clientId)
        if let refusal = SignInRules.checkSecretHash(client, username: username, given: secretHash) { throw refusal }
        return (client, try await store.pool(client.poolId))
    }

    func confirmSignUp(_ r: ConfirmSignUpRequest) async throws -> ConfirmSignUpResponse {
        let (client, pool) = try await publicClient(r.clientId, username: r.username, secretHash: r.secretHash)
        // SignUp's Session, when given, must be this client's for this user; the answer
        // then carries the Session that signs the user in (InitiateAuth, USER_AUTH).
        var signedUp: SignUpSession?
        if let text = r.session {
            guard let plain = tokenService.open(text, .signUpSession)?.plain,
                let s = SignUpSession(decoding: plain), !s.confirmed, s.pool == pool.id, s.client == client.id,
                s.names(r.username, in: pool)
            else { throw PoolError(.notAuthorized, "Invalid session for the user, session is expired.") }
            signedUp = s
        }
        try await confirm(client: client, pool: pool, username: r.username, code: r.confirmationCode)
        guard var session = signedUp else { return ConfirmSignUpResponse() }
        session.confirmed = true
        session.issuedAt = now()
        return ConfirmSignUpResponse(
            session: tokenService.seal(session.encoded, .signUpSession, seconds: SignInRules.sessionSeconds(client)))
    }

    /// ConfirmSignUp's rules: a right code confirms an UNCONFIRMED user. When the client
    /// hides user existence, a name no user has and a user who is not UNCONFIRMED (whose
    /// status would single it out) get a counted wrong code, as a wrong code for a real one.
    func confirm(client: AppClient, pool: Pool, username: String, code: String) async throws {
        guard let user = try await codeUser(pool: pool, client: client, username: username) else {
            try await phantomWrongCode(pool: pool, identifier: username)
        }
        if user.status != .unconfirmed && !client.hidesUserExistence {
            throw PoolError(.notAuthorized, "User cannot be confirmed. Current status is \(user.status.rawValue)")
        }
        try await balancePhantomRead(pool: pool, client: client, identifier: username)
        let t = now()
        try await useCode(code, user: user, pool: pool, purpose: .signUp, attribute: nil) {
            (u: inout User, sentTo: String?) throws(PoolError) in
            try UserRules.confirmSignUp(&u, attribute: sentTo, now: t)
        }
    }

    /// Where a confirmation link of this front points.
    func confirmationLink(_ clientId: String) -> MessageRules.ConfirmationLink {
        MessageRules.ConfirmationLink(base: auth.publicURL, clientId: clientId)
    }

    /// `GET /confirmUser?client_id=…&user_name=…&confirmation_code=…`, the link a
    /// CONFIRM_WITH_LINK email carries: ConfirmSignUp without a SECRET_HASH (the link is
    /// the proof), answered with a page.
    func confirmByLink(clientId: String, username: String, code: String) async throws {
        let client = try await store.appClient(id: clientId)
        let pool = try await store.pool(client.poolId)
        try await confirm(client: client, pool: pool, username: username, code: code)
    }

    func resendConfirmationCode(_ r: ResendConfirmationCodeRequest) async throws -> ResendConfirmationCodeResponse {
        let (client, pool) = try await publicClient(r.clientId, username: r.username, secretHash: r.secretHash)
        let hides = client.hidesUserExistence
        guard let user = try await codeUser(pool: pool, client: client, username: r.username),
            !hides || (user.enabled && user.status == .unconfirmed)
        else {
            // Unknown, disabled or already confirmed: an answer of the same shape and cost.
            let details = try await simulatedDelivery(pool: pool, identifier: r.username, purpose: .signUp)
            return ResendConfirmationCodeResponse(codeDeliveryDetails: details)
        }
        try UserRules.checkCanReceiveCodes(user)
        guard user.status == .unconfirmed else { throw PoolError(.invalidParameter, "User is already confirmed.") }
        guard let (medium, attribute) = MessageRules.signUpChannel(user, pool: pool) else {
            throw MessageRules.noSignUpChannel
        }
        try await balancePhantomRead(pool: pool, client: client, identifier: r.username)
        let details = try await sendCode(
            user, pool: pool, purpose: .signUp, kind: .resendCode, medium: medium, attribute: attribute,
            link: confirmationLink(client.id))
        return ResendConfirmationCodeResponse(codeDeliveryDetails: details)
    }

    func forgotPassword(_ r: ForgotPasswordRequest) async throws -> ForgotPasswordResponse {
        let (client, pool) = try await publicClient(r.clientId, username: r.username, secretHash: r.secretHash)
        guard let user = try await codeUser(pool: pool, client: client, username: r.username),
            !client.hidesUserExistence || user.enabled
        else {
            let details = try await simulatedDelivery(pool: pool, identifier: r.username, purpose: .recovery)
            return ForgotPasswordResponse(codeDeliveryDetails: details)
        }
        try UserRules.checkCanReceiveCodes(user)
        let (medium, attribute) = try MessageRules.recoveryChannel(user, pool: pool)
        try await balancePhantomRead(pool: pool, client: client, identifier: r.username)
        let details = try await sendCode(
            user, pool: pool, purpose: .recovery, kind: .forgotPassword, medium: medium, attribute: attribute)
        return ForgotPasswordResponse(codeDeliveryDetails: details)
    }

    func confirmForgotPassword(_ r: ConfirmForgotPasswordRequest) async throws -> ConfirmForgotPasswordResponse {
        let (client, pool) = try await publicClient(r.clientId, username: r.username, secretHash: r.secretHash)
        try PoolRules.validatePassword(r.password, policy: pool.policy)
        let user = try await codeUser(pool: pool, client: client, username: r.username)
        // The new password's verifier is computed for a name no user has too: the same cost.
        let verifier = auth.makeVerifier(pool: pool, username: user?.username ?? r.username, password: r.password)
        let reused = try await auth.reusesPassword(
            r.password, user: user, username: user?.username ?? r.username, pool: pool)
        guard let user else { try await phantomWrongCode(pool: pool, identifier: r.username) }
        try await balancePhantomRead(pool: pool, client: client, identifier: r.username)
        let t = now()
        try await useCode(r.confirmationCode, user: user, pool: pool, purpose: .recovery, attribute: nil) {
            (u: inout User, _: String?) throws(PoolError) in
            // Said only to whoever has the right code; the code stays unused.
            if reused { throw PasswordHistoryRules.violation }
            UserRules.resetPassword(&u, verifier: verifier, policy: pool.policy, now: t)
        }
        return ConfirmForgotPasswordResponse()
    }

    func getUserAttributeVerificationCode(
        _ r: GetUserAttributeVerificationCodeRequest
    ) async throws -> GetUserAttributeVerificationCodeResponse {
        let (pool, user, _) = try await authenticate(r.accessToken)
        guard let medium = MessageRules.medium(for: r.attributeName) else {
            throw PoolError(
                .invalidParameter, "\(r.attributeName) cannot be verified; only email and phone_number can.")
        }
        // A new value waiting for verification is where the code goes.
        var target = user
        if let pending = user.pendingAttributes?[r.attributeName] { target.attributes[r.attributeName] = pending }
        guard target.attributes[r.attributeName] != nil else {
            throw PoolError(.invalidParameter, "The user has no \(r.attributeName) to verify.")
        }
        let details = try await sendCode(
            target, pool: pool, purpose: .attribute, kind: .attributeVerification, medium: medium,
            attribute: r.attributeName)
        return GetUserAttributeVerificationCodeResponse(codeDeliveryDetails: details)
    }

    func verifyUserAttribute(_ r: VerifyUserAttributeRequest) async throws -> VerifyUserAttributeResponse {
        let (pool, user, _) = try await authenticate(r.accessToken)
        guard MessageRules.medium(for: r.attributeName) != nil else {
            throw PoolError(
                .invalidParameter, "\(r.attributeName) cannot be verified; only email and phone_number can.")
        }
        let t = now()
        try await useCode(r.code, user: user, pool: pool, purpose: .attribute, attribute: r.attributeName) {
            (u: inout User, _: String?) throws(PoolError) in
            UserRules.verifyAttribute(&u, r.attributeName, now: t)
        }
        return VerifyUserAttributeResponse()
    }

    /// AdminCreateUser with MessageAction RESEND: a user still waiting to set a password
    /// gets a new temporary password and the invitation again.
    func resendInvitation(
        pool: Pool, username: String, password: String, _ mediums: [DeliveryMediumType]?
    ) async throws -> UserType {
        let user = try await store.resolve(pool: pool, username: username)
        guard user.status == .forceChangePassword else {
            throw PoolError(
                .unsupportedUserState, "Resend not possible. \(user.username) status is not FORCE_CHANGE_PASSWORD.")
        }
        let verifier = auth.makeVerifier(pool: pool, username: user.username, password: password)
        let t = now()
        let messages = try MessageRules.invitations(
            user, pool: pool, mediums: mediums, temporaryPassword: password, now: t)
        let saved = try await store.modify(user, in: pool, messages: messages) { (u: inout User) throws(PoolError) in
            UserRules.setPassword(&u, verifier: verifier, permanent: false, pool: pool, now: t)
        }
        return saved.userType()
    }
}
