import CognitoModel
import Crypto
import Foundation
import UserPool
import X509

/// What tools read and write of a pool besides its settings: tags, the signing
/// certificate, the log delivery configuration.
extension API {
    /// The pool an ARN names (it must exist, not be deleted, and be in this region).
    func taggedPool(_ arn: String) async throws -> Pool {
        try await store.pool(try ResourceRules.poolId(fromArn: arn, region: region))
    }

    func tagResource(_ r: TagResourceRequest) async throws -> TagResourceResponse {
        var pool = try await taggedPool(r.resourceArn)
        pool.tags = try ResourceRules.tagged(pool, with: r.tags)
        _ = try await store.proposeMeta(.updatePool(pool))
        return TagResourceResponse()
    }

    func untagResource(_ r: UntagResourceRequest) async throws -> UntagResourceResponse {
        var pool = try await taggedPool(r.resourceArn)
        for key in r.tagKeys { pool.tags.removeValue(forKey: key) }
        _ = try await store.proposeMeta(.updatePool(pool))
        return UntagResourceResponse()
    }

    func listTagsForResource(_ r: ListTagsForResourceRequest) async throws -> ListTagsForResourceResponse {
        ListTagsForResourceResponse(tags: try await taggedPool(r.resourceArn).tags)
    }

    /// The pool's signing certificate: its token-signing key's public half in a
    /// self-signed X.509 certificate (base64 DER, as Cognito answers), the same on every
    /// call: serial and dates come from the pool, and RSA PKCS #1 v1.5 signatures are
    /// deterministic.
    func getSigningCertificate(_ r: GetSigningCertificateRequest) async throws -> GetSigningCertificateResponse {
        let pool = try await store.pool(r.userPoolId)
        let signer = try auth.signer(for: pool)
        let certificate = try await auth.crypto {
            let name = try DistinguishedName {
                OrganizationName("cognate")
                CommonName(pool.id)
            }
            let serial = Array(SHA256.hash(data: Array("signing certificate|\(pool.id)".utf8)).prefix(16))
            let start = Date(timeIntervalSince1970: TimeInterval(pool.createdAt))
            let key = Certificate.PrivateKey(signer.privateKey)
            let certificate = try Certificate(
                version: .v3, serialNumber: Certificate.SerialNumber(bytes: [0x01] + serial),
                publicKey: key.publicKey, notValidBefore: start,
                notValidAfter: start.addingTimeInterval(10 * 365 * 86_400), issuer: name, subject: name,
                signatureAlgorithm: .sha256WithRSAEncryption,
                extensions: try Certificate.Extensions { Critical(KeyUsage(digitalSignature: true)) },
                issuerPrivateKey: key)
            // The PEM's body is the DER in base64: what Cognito answers.
            return try certificate.serializeAsPEM().pemString.split(separator: "\n")
                .filter { !$0.hasPrefix("-----") }.joined()
        }
        return GetSigningCertificateResponse(certificate: certificate)
    }

    func setLogDeliveryConfiguration(
        _ r: SetLogDeliveryConfigurationRequest
    ) async throws -> SetLogDeliveryConfigurationResponse {
        var pool = try await store.pool(r.userPoolId)
        try ResourceRules.checkLogConfigurations(r.logConfigurations, pool: pool)
        pool.settings.logConfigurations = r.logConfigurations
        _ = try await store.proposeMeta(.updatePool(pool))
        return SetLogDeliveryConfigurationResponse(
            logDeliveryConfiguration: LogDeliveryConfigurationType(
                userPoolId: pool.id, logConfigurations: r.logConfigurations))
    }

    func getLogDeliveryConfiguration(
        _ r: GetLogDeliveryConfigurationRequest
    ) async throws -> GetLogDeliveryConfigurationResponse {
        let pool = try await store.pool(r.userPoolId)
        return GetLogDeliveryConfigurationResponse(
            logDeliveryConfiguration: LogDeliveryConfigurationType(
                userPoolId: pool.id, logConfigurations: pool.settings.logConfigurations ?? []))
    }
}
