import AuthCrypto
import CognitoModel
import Foundation
import UserPool

/// Passkeys: registration (StartWebAuthnRegistration, CompleteWebAuthnRegistration), the
/// user's list and its deletion. The WEB_AUTHN sign-in is the sign-in machine's.
extension API {
    func startWebAuthnRegistration(
        _ r: StartWebAuthnRegistrationRequest
    ) async throws -> StartWebAuthnRegistrationResponse {
        let (pool, user, claims) = try await authenticate(r.accessToken)
        // The challenge is the registration itself, sealed: nothing is written until a
        // credential comes back with it.
        let registration = PasskeyRegistration(
            pool: pool.id, client: claims.clientId, username: user.username, sub: user.sub, issuedAt: now())
        let challenge = tokenService.sealBytes(
            registration.encoded, .passkeyRegistration, seconds: PasskeyRules.ceremonySeconds)
        let expectation = try PasskeyRules.expectation(pool, challenge: challenge)
        guard (user.passkeys ?? []).count < PasskeyRules.maxPerUser else {
            throw PoolError(.limitExceeded, "A user may register at most \(PasskeyRules.maxPerUser) passkeys.")
        }
        return StartWebAuthnRegistrationResponse(
            credentialCreationOptions: PasskeyRules.creationOptions(
                pool, user: user, challenge: challenge, expectation: expectation))
    }

    func completeWebAuthnRegistration(
        _ r: CompleteWebAuthnRegistrationRequest
    ) async throws -> CompleteWebAuthnRegistrationResponse {
        let (pool, user, claims) = try await authenticate(r.accessToken)
        let credential = try PasskeyRules.CredentialJSON(r.credential)
        guard let attestation = credential.attestationObject else {
            throw PoolError(.invalidParameter, "Credential has no attestationObject.")
        }
        // The registration the challenge names: this pool's, this user's, unexpired.
        guard let challenge = Self.clientDataChallenge(credential.clientDataJSON),
            let plain = tokenService.openBytes(challenge, .passkeyRegistration),
            let registration = PasskeyRegistration(decoding: plain), registration.pool == pool.id,
            registration.sub == user.sub
        else { throw PasskeyRules.refusal(.challenge) }
        guard registration.client == claims.clientId else {
            throw PoolError(
                .init(.webAuthnClientMismatch), "The registration was started by another app client.")
        }
        let expectation = try PasskeyRules.expectation(pool, challenge: challenge)
        let registered: WebAuthn.Registered
        do {
            registered = try WebAuthn.register(
                clientDataJSON: credential.clientDataJSON, attestationObject: attestation, expected: expectation)
        } catch {
            throw PasskeyRules.refusal(error)
        }
        let t = now()
        _ = try await store.modify(user, in: pool) { (u: inout User) throws(PoolError) in
            try PasskeyRules.add(&u, registered, credential: credential, rpId: expectation.rpId, now: t)
        }
        return CompleteWebAuthnRegistrationResponse()
    }

    /// The challenge clientDataJSON carries (base64url), decoded; nil if there is none.
    static func clientDataChallenge(_ json: [UInt8]) -> [UInt8]? {
        WebAuthn.ClientData(json).flatMap { Base64URL.decode($0.challenge) }
    }

    func listWebAuthnCredentials(_ r: ListWebAuthnCredentialsRequest) async throws -> ListWebAuthnCredentialsResponse {
        let (_, user, _) = try await authenticate(r.accessToken)
        let all = user.passkeys ?? []
        let start =
            try r.nextToken.map { token throws(PoolError) -> Int in
                guard let n = Int(token), (0...all.count).contains(n) else {
                    throw PoolError(.invalidParameter, "Invalid NextToken")
                }
                return n
            } ?? 0
        let page = Array(all[start...].prefix(r.maxResults ?? 10))
        let end = start + page.count
        return ListWebAuthnCredentialsResponse(
            credentials: page.map { p in
                WebAuthnCredentialDescription(
                    credentialId: Base64URL.encode(p.id), friendlyCredentialName: p.name ?? "Passkey",
                    relyingPartyId: p.rpId, authenticatorAttachment: p.attachment,
                    authenticatorTransports: p.transports,
                    createdAt: Date(timeIntervalSince1970: Double(p.createdAt)))
            },
            nextToken: end < all.count ? String(end) : nil)
    }

    func deleteWebAuthnCredential(_ r: DeleteWebAuthnCredentialRequest) async throws -> DeleteWebAuthnCredentialResponse
    {
        let (pool, user, _) = try await authenticate(r.accessToken)
        guard let id = Base64URL.decode(r.credentialId.replacingOccurrences(of: "=", with: "")) else {
            throw PoolError(.resourceNotFound, "Credential not found.")
        }
        let t = now()
        _ = try await store.modify(user, in: pool) { (u: inout User) throws(PoolError) in
            try PasskeyRules.delete(&u, id: id, now: t)
        }
        return DeleteWebAuthnCredentialResponse()
    }
}
