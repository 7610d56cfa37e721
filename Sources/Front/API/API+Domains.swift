import CognitoModel
import Foundation
import UserPool

/// User pool domains: CreateUserPoolDomain, DescribeUserPoolDomain, UpdateUserPoolDomain and
/// DeleteUserPoolDomain. A domain names where the pool's OAuth 2.0 endpoints and pages are
/// served; a custom domain's certificate ARN is stored and described (Cognate's front serves
/// TLS with its own certificate), and its "CloudFront domain" is the front's host, where the
/// custom name's DNS should point.
extension API {
    var frontHost: String { URLComponents(string: auth.publicURL)?.host ?? "127.0.0.1" }

    func createUserPoolDomain(_ r: CreateUserPoolDomainRequest) async throws -> CreateUserPoolDomainResponse {
        if r.routing != nil { throw PoolError.notSupported("Routing (multi-Region user pool domains)") }
        var pool = try await store.pool(r.userPoolId)
        let domain = try DomainRules.create(
            &pool, name: r.domain, certificateArn: r.customDomainConfig?.certificateArn,
            managedLoginVersion: r.managedLoginVersion, now: now())
        _ = try await store.proposeMeta(.updatePool(pool))
        return CreateUserPoolDomainResponse(
            managedLoginVersion: domain.managedLoginVersion, cloudFrontDomain: domain.isCustom ? frontHost : nil)
    }

    func describeUserPoolDomain(_ r: DescribeUserPoolDomainRequest) async throws -> DescribeUserPoolDomainResponse {
        let name = r.domain.lowercased()
        // As Cognito: a name no pool has is described as nothing, not refused.
        guard case .pool(let found?) = try await store.query(PoolStore.metaShard, .poolByDomain(name)),
            found.deleting != true, let domain = found.settings.domains?.first(where: { $0.domain == name })
        else { return DescribeUserPoolDomainResponse(domainDescription: DomainDescriptionType()) }
        var d = DomainDescriptionType()
        d.userPoolId = found.id
        d.awsAccountId = "000000000000"
        d.domain = domain.domain
        d.cloudFrontDistribution = frontHost
        d.version = String(domain.createdAt)
        d.status = .active
        d.customDomainConfig = domain.certificateArn.map { CustomDomainConfigType(certificateArn: $0) }
        d.managedLoginVersion = domain.managedLoginVersion
        return DescribeUserPoolDomainResponse(domainDescription: d)
    }

    func updateUserPoolDomain(_ r: UpdateUserPoolDomainRequest) async throws -> UpdateUserPoolDomainResponse {
        if r.routing != nil { throw PoolError.notSupported("Routing (multi-Region user pool domains)") }
        var pool = try await store.pool(r.userPoolId)
        let domain = try DomainRules.update(
            &pool, name: r.domain, certificateArn: r.customDomainConfig?.certificateArn,
            managedLoginVersion: r.managedLoginVersion, now: now())
        _ = try await store.proposeMeta(.updatePool(pool))
        return UpdateUserPoolDomainResponse(
            managedLoginVersion: domain.managedLoginVersion, cloudFrontDomain: domain.isCustom ? frontHost : nil)
    }

    func deleteUserPoolDomain(_ r: DeleteUserPoolDomainRequest) async throws -> DeleteUserPoolDomainResponse {
        var pool = try await store.pool(r.userPoolId)
        try DomainRules.delete(&pool, name: r.domain, now: now())
        _ = try await store.proposeMeta(.updatePool(pool))
        return DeleteUserPoolDomainResponse()
    }
}
