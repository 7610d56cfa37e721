import AuthCrypto
import CognitoModel
import UserPool

/// Multi-factor authentication: the pool's MFA configuration, a user's TOTP authenticator
/// (associated, verified, deleted) and MFA preferences. The challenges themselves are the
/// sign-in machine's (`SignInStateMachine`).
extension API {
    func mfaConfiguration(_ pool: Pool) -> GetUserPoolMfaConfigResponse {
        GetUserPoolMfaConfigResponse(
            smsMfaConfiguration: pool.settings.smsMfa,
            softwareTokenMfaConfiguration: pool.settings.softwareTokenMfa ?? SoftwareTokenMfaConfigType(enabled: false),
            emailMfaConfiguration: pool.settings.emailMfa, mfaConfiguration: pool.mfaConfiguration,
            webAuthnConfiguration: pool.settings.webAuthn)
    }

    func setUserPoolMfaConfig(_ r: SetUserPoolMfaConfigRequest) async throws -> SetUserPoolMfaConfigResponse {
        var pool = try await store.pool(r.userPoolId)
        try MfaRules.configure(
            &pool, mfaConfiguration: r.mfaConfiguration, softwareToken: r.softwareTokenMfaConfiguration,
            sms: r.smsMfaConfiguration, email: r.emailMfaConfiguration, webAuthn: r.webAuthnConfiguration, now: now())
        _ = try await store.proposeMeta(.updatePool(pool))
        let c = mfaConfiguration(pool)
        return SetUserPoolMfaConfigResponse(
            smsMfaConfiguration: c.smsMfaConfiguration, softwareTokenMfaConfiguration: c.softwareTokenMfaConfiguration,
            emailMfaConfiguration: c.emailMfaConfiguration, mfaConfiguration: c.mfaConfiguration,
            webAuthnConfiguration: c.webAuthnConfiguration)
    }

    func getUserPoolMfaConfig(_ r: GetUserPoolMfaConfigRequest) async throws -> GetUserPoolMfaConfigResponse {
        mfaConfiguration(try await store.pool(r.userPoolId))
    }

    /// Who a software-token operation acts for: a signed-in user (AccessToken), or the user
    /// of an MFA_SETUP challenge (Session), read whole.
    enum SoftwareTokenCaller {
        case signedIn
        case settingUp(SignInSession)
    }

    func softwareTokenCaller(
        accessToken: String?, session: String?
    ) async throws -> (Pool, User, SoftwareTokenCaller) {
        if accessToken != nil && session != nil {
            throw PoolError(.invalidParameter, "Only one of AccessToken or Session may be given")
        }
        if let accessToken {
            let (pool, user, _) = try await authenticate(accessToken)
            return (pool, user, .signedIn)
        }
        guard session != nil else { throw PoolError(.invalidParameter, "One of AccessToken or Session is required") }
        let setup = try MfaRules.setupSession(
            tokenService.open(session, .session).flatMap { SignInSession(decoding: $0.plain) })
        let invalid = PoolError(.notAuthorized, "Invalid session for the user, session is expired.")
        guard let pool = try? await store.pool(setup.pool),
            let user = try await store.user(pool: pool.id, canonical: PoolRules.canonical(setup.username, in: pool)),
            user.enabled
        else { throw invalid }
        return (pool, user, .settingUp(setup))
    }

    /// The session an MFA_SETUP step hands on (nil for a signed-in user's call).
    func nextSetupSession(_ caller: SoftwareTokenCaller, verified: Bool) async throws -> String? {
        guard case .settingUp(var session) = caller else { return nil }
        session.factorVerified = verified
        let client = try await store.appClient(id: session.client)
        return tokenService.seal(session.encoded, .session, seconds: SignInRules.sessionSeconds(client))
    }

    /// A new TOTP secret, sealed at rest; it replaces the user's authenticator only once
    /// VerifySoftwareToken sees a code of it.
    func associateSoftwareToken(_ r: AssociateSoftwareTokenRequest) async throws -> AssociateSoftwareTokenResponse {
        let (pool, user, caller) = try await softwareTokenCaller(accessToken: r.accessToken, session: r.session)
        try MfaRules.checkSoftwareTokenAllowed(pool)
        var rng = SystemRandomNumberGenerator()
        let secret = (0..<TOTP.secretBytes).map { _ in UInt8.random(in: 0...255, using: &rng) }
        let sealed = auth.keySealer.seal(secret, expiresAt: .max, using: &rng)
        let t = now()
        _ = try await store.modify(user, in: pool) { (u: inout User) throws(PoolError) in
            MfaRules.associate(&u, sealedSecret: sealed, now: t)
        }
        return AssociateSoftwareTokenResponse(
            secretCode: Base32.encode(secret), session: try await nextSetupSession(caller, verified: false))
    }

    /// The first code of the associated secret makes it the user's authenticator (and, in
    /// MFA_SETUP, the user's MFA, the session then good for finishing the sign-in).
    func verifySoftwareToken(_ r: VerifySoftwareTokenRequest) async throws -> VerifySoftwareTokenResponse {
        let (pool, user, caller) = try await softwareTokenCaller(accessToken: r.accessToken, session: r.session)
        try MfaRules.checkSoftwareTokenAllowed(pool)
        guard let sealed = user.mfa?.pendingTotpSecret, let secret = try? auth.open(sealed, now: 0, \.keySealer) else {
            throw PoolError(.invalidParameter, "User has not associated a software token")
        }
        guard let step = TOTP.matchingStep(r.userCode, secret: secret, now: now(), after: user.mfa?.totpLastStep) else {
            throw PoolError(.enableSoftwareTokenMFA, "Code mismatch")
        }
        let t = now()
        _ = try await store.modify(user, in: pool) { (u: inout User) throws(PoolError) in
            try MfaRules.verify(&u, checkedSecret: sealed, step: step, name: r.friendlyDeviceName, now: t)
            if case .settingUp = caller { MfaRules.enableAfterSetup(&u) }
        }
        return VerifySoftwareTokenResponse(
            status: .success, session: try await nextSetupSession(caller, verified: true))
    }

    func setUserMFAPreference(_ r: SetUserMFAPreferenceRequest) async throws -> SetUserMFAPreferenceResponse {
        let (pool, user, _) = try await authenticate(r.accessToken)
        let t = now()
        _ = try await store.modify(user, in: pool) { (u: inout User) throws(PoolError) in
            try MfaRules.setPreference(
                &u, softwareToken: r.softwareTokenMfaSettings, sms: r.smsMfaSettings, email: r.emailMfaSettings,
                webAuthn: r.webAuthnMfaSettings, pool: pool, now: t)
        }
        return SetUserMFAPreferenceResponse()
    }

    func adminSetUserMFAPreference(
        _ r: AdminSetUserMFAPreferenceRequest
    ) async throws -> AdminSetUserMFAPreferenceResponse {
        let t = now()
        try await modifyUser(poolId: r.userPoolId, username: r.username) { (u: inout User, pool) throws(PoolError) in
            try MfaRules.setPreference(
                &u, softwareToken: r.softwareTokenMfaSettings, sms: r.smsMfaSettings, email: r.emailMfaSettings,
                webAuthn: r.webAuthnMfaSettings, pool: pool, now: t)
        }
        return AdminSetUserMFAPreferenceResponse()
    }

    /// The legacy form of an MFA preference: MFAOptions naming SMS.
    func setUserSettings(_ r: SetUserSettingsRequest) async throws -> SetUserSettingsResponse {
        let (pool, user, _) = try await authenticate(r.accessToken)
        let t = now()
        _ = try await store.modify(user, in: pool) { (u: inout User) throws(PoolError) in
            try MfaRules.setLegacySettings(&u, r.mfaOptions, pool: pool, now: t)
        }
        return SetUserSettingsResponse()
    }

    func adminSetUserSettings(_ r: AdminSetUserSettingsRequest) async throws -> AdminSetUserSettingsResponse {
        let t = now()
        try await modifyUser(poolId: r.userPoolId, username: r.username) { (u: inout User, pool) throws(PoolError) in
            try MfaRules.setLegacySettings(&u, r.mfaOptions, pool: pool, now: t)
        }
        return AdminSetUserSettingsResponse()
    }

    /// The user's MFA settings and first factors (`FirstFactorRules.configured`).
    func authFactors(_ user: User, pool: Pool) -> GetUserAuthFactorsResponse {
        let mfa = MfaRules.settings(user)
        return GetUserAuthFactorsResponse(
            username: user.username, preferredMfaSetting: mfa.preferred, userMFASettingList: mfa.list,
            configuredUserAuthFactors: FirstFactorRules.configured(pool: pool, user: user))
    }

    func getUserAuthFactors(_ r: GetUserAuthFactorsRequest) async throws -> GetUserAuthFactorsResponse {
        let (pool, user, _) = try await authenticate(r.accessToken)
        return authFactors(user, pool: pool)
    }

    func adminGetUserAuthFactors(_ r: AdminGetUserAuthFactorsRequest) async throws -> AdminGetUserAuthFactorsResponse {
        let pool = try await store.pool(r.userPoolId)
        let f = authFactors(try await store.resolve(pool: pool, username: r.username), pool: pool)
        return AdminGetUserAuthFactorsResponse(
            username: f.username, preferredMfaSetting: f.preferredMfaSetting, userMFASettingList: f.userMFASettingList,
            configuredUserAuthFactors: f.configuredUserAuthFactors)
    }

    func adminDeleteSoftwareToken(
        _ r: AdminDeleteSoftwareTokenRequest
    ) async throws -> AdminDeleteSoftwareTokenResponse {
        let t = now()
        try await modifyUser(poolId: r.userPoolId, username: r.username) { (u: inout User, _) throws(PoolError) in
            MfaRules.deleteSoftwareToken(&u, now: t)
        }
        return AdminDeleteSoftwareTokenResponse()
    }
}
