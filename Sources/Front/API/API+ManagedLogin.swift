import AuthCrypto
import CognitoModel
import Foundation
import UserPool

/// The managed login's look and its legal links: UI customization (classic pages),
/// managed login branding (version 2) and terms, each a pool document on the meta shard.
extension API {
    func documents(_ poolId: String, _ kind: PoolDocument.Kind) async throws -> [PoolDocument] {
        guard
            case .poolDocuments(let all) = try await store.query(
                PoolStore.metaShard, .poolDocuments(poolId: poolId, kind: kind))
        else { return [] }
        return all
    }

    func document(_ poolId: String, _ kind: PoolDocument.Kind, _ id: String) async throws -> PoolDocument? {
        guard
            case .poolDocument(let doc?) = try await store.query(
                PoolStore.metaShard, .poolDocument(poolId: poolId, kind: kind, id: id))
        else { return nil }
        return doc
    }

    /// A client of the pool, or ResourceNotFoundException.
    func poolClient(_ pool: Pool, _ clientId: String) async throws -> AppClient {
        let client = try await store.appClient(id: clientId)
        guard client.poolId == pool.id else {
            throw PoolError(.resourceNotFound, "User pool client \(clientId) does not exist.")
        }
        return client
    }

    // MARK: UI customization

    func setUICustomization(_ r: SetUICustomizationRequest) async throws -> SetUICustomizationResponse {
        let pool = try await store.pool(r.userPoolId)
        let id = r.clientId ?? UICustomizationRules.allClients
        if let clientId = r.clientId { _ = try await poolClient(pool, clientId) }
        let existing = try await document(pool.id, .uiCustomization, id).map { try $0.record(UICustomization.self) }
        // Neither CSS nor an image: the customization is removed.
        guard r.css != nil || r.imageFile != nil else {
            if existing != nil {
                _ = try await store.proposeMeta(.deletePoolDocuments(poolId: pool.id, [.init(.uiCustomization, id)]))
            }
            return SetUICustomizationResponse(uiCustomization: UICustomizationType(userPoolId: pool.id, clientId: id))
        }
        if let css = r.css { try UICustomizationRules.checkCSS(css) }
        let imageType = try r.imageFile.map { try UICustomizationRules.checkImage($0.bytes) }
        let t = now()
        var rng = SystemRandomNumberGenerator()
        let record = UICustomization(
            clientId: id, css: r.css, image: r.imageFile.map { Data($0.bytes) }, imageType: imageType,
            cssVersion: randomUUIDString(using: &rng), createdAt: existing?.createdAt ?? t, modifiedAt: t)
        let doc = try PoolDocument(poolId: pool.id, kind: .uiCustomization, id: id, record: record)
        _ = try await store.proposeMeta(.putPoolDocuments([doc], put: .upsert))
        return SetUICustomizationResponse(uiCustomization: uiCustomizationType(record, pool: pool.id))
    }

    func getUICustomization(_ r: GetUICustomizationRequest) async throws -> GetUICustomizationResponse {
        let pool = try await store.pool(r.userPoolId)
        if let clientId = r.clientId { _ = try await poolClient(pool, clientId) }
        guard let record = try await uiCustomization(pool.id, clientId: r.clientId) else {
            return GetUICustomizationResponse(
                uiCustomization: UICustomizationType(
                    userPoolId: pool.id, clientId: r.clientId ?? UICustomizationRules.allClients))
        }
        return GetUICustomizationResponse(uiCustomization: uiCustomizationType(record, pool: pool.id))
    }

    /// A client's customization, or the pool's when it has none of its own.
    func uiCustomization(_ poolId: String, clientId: String?) async throws -> UICustomization? {
        if let clientId, let own = try await document(poolId, .uiCustomization, clientId) {
            return try own.record(UICustomization.self)
        }
        return try await document(poolId, .uiCustomization, UICustomizationRules.allClients)?.record(
            UICustomization.self)
    }

    func uiCustomizationType(_ record: UICustomization, pool: String) -> UICustomizationType {
        UICustomizationType(
            userPoolId: pool, clientId: record.clientId,
            imageUrl: record.image == nil ? nil : "\(auth.publicURL)/\(pool)/ui/\(record.clientId)/logo",
            css: record.css, cssVersion: record.cssVersion, lastModifiedDate: date(record.modifiedAt),
            creationDate: date(record.createdAt))
    }

    // MARK: Terms

    func termsType(_ t: TermsRecord, pool: String) -> TermsType {
        TermsType(
            termsId: t.id, userPoolId: pool, clientId: t.clientId, termsName: t.name,
            termsSource: TermsSourceType(rawValue: t.source),
            enforcement: TermsEnforcementType(rawValue: t.enforcement),
            links: t.links, creationDate: date(t.createdAt), lastModifiedDate: date(t.modifiedAt))
    }

    func allTerms(_ poolId: String) async throws -> [TermsRecord] {
        try await documents(poolId, .terms).map { try $0.record(TermsRecord.self) }
    }

    func terms(_ poolId: String, id: String) async throws -> TermsRecord {
        guard let found = try await allTerms(poolId).first(where: { $0.id == id }) else {
            throw PoolDocument.notFound(.terms, id)
        }
        return found
    }

    func createTerms(_ r: CreateTermsRequest) async throws -> CreateTermsResponse {
        let pool = try await store.pool(r.userPoolId)
        _ = try await poolClient(pool, r.clientId)
        let links = r.links ?? [:]
        try TermsRecord.checkLinks(links)
        var rng = SystemRandomNumberGenerator()
        let t = now()
        let record = TermsRecord(
            id: randomUUIDString(using: &rng), clientId: r.clientId, name: r.termsName, source: r.termsSource.rawValue,
            enforcement: r.enforcement.rawValue, links: links, createdAt: t, modifiedAt: t)
        let doc = try PoolDocument(
            poolId: pool.id, kind: .terms, id: TermsRecord.documentId(clientId: r.clientId, name: r.termsName),
            record: record)
        _ = try await store.proposeMeta(.putPoolDocuments([doc], put: .create))
        return CreateTermsResponse(terms: termsType(record, pool: pool.id))
    }

    func describeTerms(_ r: DescribeTermsRequest) async throws -> DescribeTermsResponse {
        let pool = try await store.pool(r.userPoolId)
        return DescribeTermsResponse(terms: termsType(try await terms(pool.id, id: r.termsId), pool: pool.id))
    }

    /// UpdateTerms changes what it names; a new name moves the document (refused if the
    /// client has terms of that name already).
    func updateTerms(_ r: UpdateTermsRequest) async throws -> UpdateTermsResponse {
        let pool = try await store.pool(r.userPoolId)
        var record = try await terms(pool.id, id: r.termsId)
        let oldId = TermsRecord.documentId(clientId: record.clientId, name: record.name)
        if let name = r.termsName { record.name = name }
        if let source = r.termsSource { record.source = source.rawValue }
        if let enforcement = r.enforcement { record.enforcement = enforcement.rawValue }
        if let links = r.links {
            try TermsRecord.checkLinks(links)
            record.links = links
        }
        record.modifiedAt = now()
        let newId = TermsRecord.documentId(clientId: record.clientId, name: record.name)
        let doc = try PoolDocument(poolId: pool.id, kind: .terms, id: newId, record: record)
        if newId == oldId {
            _ = try await store.proposeMeta(.putPoolDocuments([doc], put: .update))
        } else {
            _ = try await store.proposeMeta(.putPoolDocuments([doc], put: .create))
            _ = try await store.proposeMeta(.deletePoolDocuments(poolId: pool.id, [.init(.terms, oldId)]))
        }
        return UpdateTermsResponse(terms: termsType(record, pool: pool.id))
    }

    func deleteTerms(_ r: DeleteTermsRequest) async throws -> EmptyShape {
        let pool = try await store.pool(r.userPoolId)
        let record = try await terms(pool.id, id: r.termsId)
        _ = try await store.proposeMeta(
            .deletePoolDocuments(
                poolId: pool.id, [.init(.terms, TermsRecord.documentId(clientId: record.clientId, name: record.name))]))
        return EmptyShape()
    }

    func listTerms(_ r: ListTermsRequest) async throws -> ListTermsResponse {
        let pool = try await store.pool(r.userPoolId)
        let page = ListRules.page(
            try await allTerms(pool.id), after: r.nextToken, limit: ListRules.pageSize(r.maxResults, default: 10)
        ) { $0.id }
        return ListTermsResponse(
            terms: page.items.map {
                TermsDescriptionType(
                    termsId: $0.id, termsName: $0.name, enforcement: TermsEnforcementType(rawValue: $0.enforcement),
                    creationDate: date($0.createdAt), lastModifiedDate: date($0.modifiedAt))
            }, nextToken: page.next)
    }

    // MARK: Managed login branding

    func brandingType(_ b: BrandingRecord, assets: BrandingAssets?, pool: String) -> ManagedLoginBrandingType {
        ManagedLoginBrandingType(
            managedLoginBrandingId: b.id, userPoolId: pool, useCognitoProvidedValues: b.useCognitoProvidedValues,
            settings: b.settings, assets: assets?.assets ?? [], creationDate: date(b.createdAt),
            lastModifiedDate: date(b.modifiedAt))
    }

    /// A branding by its id (a scan of the pool's brandings, which carry no assets).
    func branding(_ poolId: String, id: String) async throws -> BrandingRecord {
        for doc in try await documents(poolId, .branding) {
            let b = try doc.record(BrandingRecord.self)
            if b.id == id { return b }
        }
        throw PoolDocument.notFound(.branding, id)
    }

    func brandingDocuments(
        _ pool: String, _ b: BrandingRecord, assets: [AssetType]?
    ) throws -> [PoolDocument] {
        [
            try PoolDocument(poolId: pool, kind: .branding, id: b.clientId, record: b),
            try PoolDocument(
                poolId: pool, kind: .brandingAssets, id: b.clientId, record: BrandingAssets(assets: assets ?? [])),
        ]
    }

    func createManagedLoginBranding(
        _ r: CreateManagedLoginBrandingRequest
    ) async throws -> CreateManagedLoginBrandingResponse {
        let pool = try await store.pool(r.userPoolId)
        _ = try await poolClient(pool, r.clientId)
        try BrandingRules.check(
            useCognitoProvidedValues: r.useCognitoProvidedValues, settings: r.settings, assets: r.assets)
        var rng = SystemRandomNumberGenerator()
        let t = now()
        let record = BrandingRecord(
            id: randomUUIDString(using: &rng), clientId: r.clientId,
            useCognitoProvidedValues: r.useCognitoProvidedValues ?? (r.settings == nil && r.assets == nil),
            settings: r.settings, createdAt: t, modifiedAt: t)
        _ = try await store.proposeMeta(
            .putPoolDocuments(try brandingDocuments(pool.id, record, assets: r.assets), put: .create))
        return CreateManagedLoginBrandingResponse(
            managedLoginBranding: brandingType(record, assets: BrandingAssets(assets: r.assets ?? []), pool: pool.id))
    }

    func describeManagedLoginBranding(
        _ r: DescribeManagedLoginBrandingRequest
    ) async throws -> DescribeManagedLoginBrandingResponse {
        let pool = try await store.pool(r.userPoolId)
        let b = try await branding(pool.id, id: r.managedLoginBrandingId)
        let assets = try await document(pool.id, .brandingAssets, b.clientId)?.record(BrandingAssets.self)
        return DescribeManagedLoginBrandingResponse(
            managedLoginBranding: brandingType(b, assets: assets, pool: pool.id))
    }

    func describeManagedLoginBrandingByClient(
        _ r: DescribeManagedLoginBrandingByClientRequest
    ) async throws -> DescribeManagedLoginBrandingByClientResponse {
        let pool = try await store.pool(r.userPoolId)
        _ = try await poolClient(pool, r.clientId)
        guard let doc = try await document(pool.id, .branding, r.clientId) else {
            throw PoolDocument.notFound(.branding, r.clientId)
        }
        let b = try doc.record(BrandingRecord.self)
        let assets = try await document(pool.id, .brandingAssets, b.clientId)?.record(BrandingAssets.self)
        return DescribeManagedLoginBrandingByClientResponse(
            managedLoginBranding: brandingType(b, assets: assets, pool: pool.id))
    }

    func updateManagedLoginBranding(
        _ r: UpdateManagedLoginBrandingRequest
    ) async throws -> UpdateManagedLoginBrandingResponse {
        guard let poolId = r.userPoolId, let id = r.managedLoginBrandingId else {
            throw PoolError(.invalidParameter, "UserPoolId and ManagedLoginBrandingId are required.")
        }
        let pool = try await store.pool(poolId)
        var b = try await branding(pool.id, id: id)
        try BrandingRules.check(
            useCognitoProvidedValues: r.useCognitoProvidedValues, settings: r.settings, assets: r.assets)
        var assets = try await document(pool.id, .brandingAssets, b.clientId)?.record(BrandingAssets.self).assets ?? []
        if r.useCognitoProvidedValues == true {
            b.settings = nil
            assets = []
        }
        if let settings = r.settings { b.settings = settings }
        if let given = r.assets { assets = given }
        b.useCognitoProvidedValues = r.useCognitoProvidedValues ?? (b.settings == nil && assets.isEmpty)
        b.modifiedAt = now()
        _ = try await store.proposeMeta(
            .putPoolDocuments(try brandingDocuments(pool.id, b, assets: assets), put: .update))
        return UpdateManagedLoginBrandingResponse(
            managedLoginBranding: brandingType(b, assets: BrandingAssets(assets: assets), pool: pool.id))
    }

    func deleteManagedLoginBranding(_ r: DeleteManagedLoginBrandingRequest) async throws -> EmptyShape {
        let pool = try await store.pool(r.userPoolId)
        let b = try await branding(pool.id, id: r.managedLoginBrandingId)
        _ = try await store.proposeMeta(
            .deletePoolDocuments(poolId: pool.id, [.init(.branding, b.clientId), .init(.brandingAssets, b.clientId)]))
        return EmptyShape()
    }
}
