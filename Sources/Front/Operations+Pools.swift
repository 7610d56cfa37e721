import UserPool

extension Operations {
    // MARK: Pools

    func createUserPool(_ input: JSONInput) async throws -> [String: Any] {
        let name = try input.required("PoolName", max: 128)
        guard !name.isEmpty else { throw CognitoError.invalidParameter("PoolName must not be empty") }
        var policy = PasswordPolicy()
        if let p = try input.object("Policies")?.object("PasswordPolicy") { policy = try parsePolicy(p, base: policy) }
        var schema = PoolRules.standardSchema
        for attr in try input.objects("Schema") ?? [] {
            let rawName = try attr.required("Name", max: 20)
            let isStandard = PoolRules.standardAttributes.contains(rawName)
            let fullName = isStandard || rawName.hasPrefix("custom:") ? rawName : "custom:\(rawName)"
            let typeName = try attr.string("AttributeDataType") ?? "String"
            guard let type = SchemaAttribute.DataType(rawValue: typeName) else {
                throw CognitoError.invalidParameter("AttributeDataType must be String, Number, DateTime or Boolean")
            }
            var a = SchemaAttribute(name: fullName, type: type, mutable: try attr.bool("Mutable") ?? true, required: try attr.bool("Required") ?? false)
            if let c = try attr.object("StringAttributeConstraints") {
                a.minLength = try c.string("MinLength").flatMap { Int($0) }
                a.maxLength = try c.string("MaxLength").flatMap { Int($0) }
            }
            if let c = try attr.object("NumberAttributeConstraints") {
                a.minValue = try c.string("MinValue").flatMap { Int($0) }
                a.maxValue = try c.string("MaxValue").flatMap { Int($0) }
            }
            if !isStandard && a.required {
                throw CognitoError.invalidParameter("Required custom attributes are not supported currently.")
            }
            if let i = schema.firstIndex(where: { $0.name == fullName }) {
                a.minLength = a.minLength ?? schema[i].minLength
                a.maxLength = a.maxLength ?? schema[i].maxLength
                schema[i] = a
            } else {
                schema.append(a)
            }
        }
        let usernameAttributes = try input.strings("UsernameAttributes") ?? []
        let aliasAttributes = try input.strings("AliasAttributes") ?? []
        for a in usernameAttributes where !["email", "phone_number"].contains(a) {
            throw CognitoError.invalidParameter("UsernameAttributes may contain email and phone_number only")
        }
        for a in aliasAttributes where !["email", "phone_number", "preferred_username"].contains(a) {
            throw CognitoError.invalidParameter("AliasAttributes may contain email, phone_number and preferred_username only")
        }
        if !usernameAttributes.isEmpty && !aliasAttributes.isEmpty {
            throw CognitoError.invalidParameter("Only one of the aliasAttributes or usernameAttributes can be set in a User Pool")
        }
        let t = now()
        let pool = Pool(
            id: newPoolId(), name: name, createdAt: t, modifiedAt: t, policy: policy, schema: schema,
            usernameAttributes: usernameAttributes, aliasAttributes: aliasAttributes,
            autoVerifiedAttributes: try input.strings("AutoVerifiedAttributes") ?? [],
            caseSensitive: try input.object("UsernameConfiguration")?.bool("CaseSensitive") ?? true,
            mfaConfiguration: try input.string("MfaConfiguration") ?? "OFF",
            deletionProtection: try input.string("DeletionProtection") ?? "INACTIVE",
            allowAdminCreateUserOnly: try input.object("AdminCreateUserConfig")?.bool("AllowAdminCreateUserOnly") ?? false,
            tags: try input.stringMap("UserPoolTags") ?? [:])
        guard pool.mfaConfiguration == "OFF" else { throw CognitoError.notSupported("MfaConfiguration other than OFF") }
        var withKey = pool
        withKey.signingKey = try await auth.newSigningKey()
        _ = try await store.propose(PoolStore.metaShard, .createPool(withKey))
        return ["UserPool": describe(pool)]
    }

    func parsePolicy(_ p: JSONInput, base: PasswordPolicy) throws -> PasswordPolicy {
        var policy = base
        if let n = try p.int("MinimumLength") {
            guard (6...99).contains(n) else { throw CognitoError.invalidParameter("MinimumLength must be between 6 and 99") }
            policy.minimumLength = n
        }
        policy.requireUppercase = try p.bool("RequireUppercase") ?? policy.requireUppercase
        policy.requireLowercase = try p.bool("RequireLowercase") ?? policy.requireLowercase
        policy.requireNumbers = try p.bool("RequireNumbers") ?? policy.requireNumbers
        policy.requireSymbols = try p.bool("RequireSymbols") ?? policy.requireSymbols
        policy.temporaryPasswordValidityDays = try p.int("TemporaryPasswordValidityDays") ?? policy.temporaryPasswordValidityDays
        return policy
    }

    func describe(_ pool: Pool) -> [String: Any] {
        var out: [String: Any] = [
            "Id": pool.id, "Name": pool.name,
            "Arn": "arn:aws:cognito-idp:\(region):000000000000:userpool/\(pool.id)",
            "CreationDate": Double(pool.createdAt), "LastModifiedDate": Double(pool.modifiedAt),
            "Policies": ["PasswordPolicy": [
                "MinimumLength": pool.policy.minimumLength, "RequireUppercase": pool.policy.requireUppercase,
                "RequireLowercase": pool.policy.requireLowercase, "RequireNumbers": pool.policy.requireNumbers,
                "RequireSymbols": pool.policy.requireSymbols,
                "TemporaryPasswordValidityDays": pool.policy.temporaryPasswordValidityDays,
            ]],
            "SchemaAttributes": pool.schema.map { a -> [String: Any] in
                var s: [String: Any] = [
                    "Name": a.name, "AttributeDataType": a.type.rawValue, "DeveloperOnlyAttribute": false,
                    "Mutable": a.mutable, "Required": a.required,
                ]
                if a.type == .string {
                    var c: [String: Any] = [:]
                    if let v = a.minLength { c["MinLength"] = String(v) }
                    if let v = a.maxLength { c["MaxLength"] = String(v) }
                    s["StringAttributeConstraints"] = c
                }
                if a.type == .number {
                    var c: [String: Any] = [:]
                    if let v = a.minValue { c["MinValue"] = String(v) }
                    if let v = a.maxValue { c["MaxValue"] = String(v) }
                    s["NumberAttributeConstraints"] = c
                }
                return s
            },
            "AutoVerifiedAttributes": pool.autoVerifiedAttributes,
            "MfaConfiguration": pool.mfaConfiguration,
            "EstimatedNumberOfUsers": 0,
            "UsernameConfiguration": ["CaseSensitive": pool.caseSensitive],
            "AdminCreateUserConfig": ["AllowAdminCreateUserOnly": pool.allowAdminCreateUserOnly],
            "UserPoolTags": pool.tags,
            "DeletionProtection": pool.deletionProtection,
            "LambdaConfig": [String: Any](),
        ]
        if !pool.usernameAttributes.isEmpty { out["UsernameAttributes"] = pool.usernameAttributes }
        if !pool.aliasAttributes.isEmpty { out["AliasAttributes"] = pool.aliasAttributes }
        return out
    }

    func describeUserPool(_ input: JSONInput) async throws -> [String: Any] {
        ["UserPool": describe(try await store.pool(try poolId(input)))]
    }

    func poolId(_ input: JSONInput) throws -> String {
        let id = try input.required("UserPoolId", max: 55)
        guard id.contains("_"), id.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" }) else {
            throw CognitoError.invalidParameter("1 validation error detected: Value '\(id)' at 'userPoolId' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w-]+_[0-9a-zA-Z]+")
        }
        return id
    }

    func updateUserPool(_ input: JSONInput) async throws -> [String: Any] {
        var pool = try await store.pool(try poolId(input))
        if let p = try input.object("Policies")?.object("PasswordPolicy") { pool.policy = try parsePolicy(p, base: PasswordPolicy()) }
        if let a = try input.strings("AutoVerifiedAttributes") { pool.autoVerifiedAttributes = a }
        if let m = try input.string("MfaConfiguration") {
            guard m == "OFF" else { throw CognitoError.notSupported("MfaConfiguration other than OFF") }
            pool.mfaConfiguration = m
        }
        if let d = try input.string("DeletionProtection") { pool.deletionProtection = d }
        if let c = try input.object("AdminCreateUserConfig") { pool.allowAdminCreateUserOnly = try c.bool("AllowAdminCreateUserOnly") ?? false }
        if let t = try input.stringMap("UserPoolTags") { pool.tags = t }
        pool.modifiedAt = now()
        _ = try await store.propose(PoolStore.metaShard, .updatePool(pool))
        return [:]
    }

    func deleteUserPool(_ input: JSONInput) async throws -> [String: Any] {
        let pool = try await store.pool(try poolId(input))
        guard pool.deletionProtection != "ACTIVE" else {
            throw CognitoError.invalidParameter("The user pool cannot be deleted because deletion protection is activated.")
        }
        _ = try await store.propose(PoolStore.metaShard, .deletePool(id: pool.id))
        return [:]
    }

    func listUserPools(_ input: JSONInput) async throws -> [String: Any] {
        guard let max = try input.int("MaxResults") else {
            throw CognitoError.invalidParameter("1 validation error detected: Value at 'maxResults' failed to satisfy constraint: Member must not be null")
        }
        guard (1...60).contains(max) else { throw CognitoError.invalidParameter("MaxResults must be between 1 and 60") }
        let after = try input.string("NextToken")
        guard case .pools(let pools) = try await store.query(PoolStore.metaShard, .pools(after: after, limit: max + 1)) else { return [:] }
        var out: [String: Any] = [
            "UserPools": pools.prefix(max).map {
                ["Id": $0.id, "Name": $0.name, "CreationDate": Double($0.createdAt), "LastModifiedDate": Double($0.modifiedAt), "LambdaConfig": [String: Any]()]
            }
        ]
        if pools.count > max { out["NextToken"] = pools[max - 1].id }
        return out
    }

    // MARK: Clients

    static let authFlows: Set<String> = [
        "ADMIN_NO_SRP_AUTH", "CUSTOM_AUTH_FLOW_ONLY", "USER_PASSWORD_AUTH", "ALLOW_ADMIN_USER_PASSWORD_AUTH",
        "ALLOW_CUSTOM_AUTH", "ALLOW_USER_PASSWORD_AUTH", "ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH", "ALLOW_USER_AUTH",
    ]

    func createUserPoolClient(_ input: JSONInput) async throws -> [String: Any] {
        let pool = try await store.pool(try poolId(input))
        let name = try input.required("ClientName", max: 128)
        let t = now()
        var client = AppClient(
            id: Self.newClientId(), poolId: pool.id, name: name,
            secret: try input.bool("GenerateSecret") == true ? Self.newClientSecret() : nil,
            explicitAuthFlows: [], readAttributes: nil, writeAttributes: nil, preventUserExistenceErrors: "ENABLED",
            refreshTokenValidity: 30, accessTokenValidity: nil, idTokenValidity: nil, tokenValidityUnits: nil,
            createdAt: t, modifiedAt: t)
        try applyClientSettings(input, to: &client, pool: pool)
        _ = try await store.propose(PoolStore.metaShard, .createClient(client))
        return ["UserPoolClient": describe(client)]
    }

    func applyClientSettings(_ input: JSONInput, to client: inout AppClient, pool: Pool) throws {
        if let flows = try input.strings("ExplicitAuthFlows") {
            for f in flows where !Self.authFlows.contains(f) {
                throw CognitoError.invalidParameter("1 validation error detected: Value '[\(f)]' at 'explicitAuthFlows' failed to satisfy constraint")
            }
            client.explicitAuthFlows = flows
        }
        for key in ["ReadAttributes", "WriteAttributes"] {
            guard let attrs = try input.strings(key) else { continue }
            // Only an administrator or a verification sets the verification flags.
            let writable = { (a: String) in key == "ReadAttributes" || !PoolRules.verificationAttributes.contains(a) }
            for a in attrs where pool.attribute(a) == nil || !writable(a) {
                throw CognitoError.invalidParameter("Invalid \(key == "ReadAttributes" ? "read" : "write") attributes specified while creating a client")
            }
            if key == "ReadAttributes" { client.readAttributes = attrs } else { client.writeAttributes = attrs }
        }
        if let p = try input.string("PreventUserExistenceErrors") {
            guard p == "ENABLED" || p == "LEGACY" else { throw CognitoError.invalidParameter("PreventUserExistenceErrors must be ENABLED or LEGACY") }
            client.preventUserExistenceErrors = p
        }
        client.refreshTokenValidity = try input.int("RefreshTokenValidity") ?? client.refreshTokenValidity
        client.accessTokenValidity = try input.int("AccessTokenValidity") ?? client.accessTokenValidity
        client.idTokenValidity = try input.int("IdTokenValidity") ?? client.idTokenValidity
        client.tokenValidityUnits = try input.stringMap("TokenValidityUnits") ?? client.tokenValidityUnits
        client.name = try input.string("ClientName", max: 128) ?? client.name
        if let refusal = TokenRules.validate(client) { throw CognitoError(refusal) }
    }

    func describe(_ c: AppClient) -> [String: Any] {
        var out: [String: Any] = [
            "UserPoolId": c.poolId, "ClientName": c.name, "ClientId": c.id,
            "CreationDate": Double(c.createdAt), "LastModifiedDate": Double(c.modifiedAt),
            "ExplicitAuthFlows": c.explicitAuthFlows, "PreventUserExistenceErrors": c.preventUserExistenceErrors,
            "RefreshTokenValidity": c.refreshTokenValidity, "AllowedOAuthFlowsUserPoolClient": false,
        ]
        if let s = c.secret { out["ClientSecret"] = s }
        if let r = c.readAttributes { out["ReadAttributes"] = r }
        if let w = c.writeAttributes { out["WriteAttributes"] = w }
        if let a = c.accessTokenValidity { out["AccessTokenValidity"] = a }
        if let i = c.idTokenValidity { out["IdTokenValidity"] = i }
        if let u = c.tokenValidityUnits { out["TokenValidityUnits"] = u }
        return out
    }

    func describeUserPoolClient(_ input: JSONInput) async throws -> [String: Any] {
        let pool = try poolId(input)
        return ["UserPoolClient": describe(try await store.appClient(pool: pool, id: try input.required("ClientId", max: 128)))]
    }

    func updateUserPoolClient(_ input: JSONInput) async throws -> [String: Any] {
        let pool = try await store.pool(try poolId(input))
        var client = try await store.appClient(pool: pool.id, id: try input.required("ClientId", max: 128))
        try applyClientSettings(input, to: &client, pool: pool)
        client.modifiedAt = now()
        _ = try await store.propose(PoolStore.metaShard, .updateClient(client))
        return ["UserPoolClient": describe(client)]
    }

    func deleteUserPoolClient(_ input: JSONInput) async throws -> [String: Any] {
        let pool = try poolId(input)
        _ = try await store.propose(PoolStore.metaShard, .deleteClient(poolId: pool, clientId: try input.required("ClientId", max: 128)))
        return [:]
    }

    func listUserPoolClients(_ input: JSONInput) async throws -> [String: Any] {
        let pool = try await store.pool(try poolId(input))
        let max = try input.int("MaxResults") ?? 60
        guard (1...60).contains(max) else { throw CognitoError.invalidParameter("MaxResults must be between 1 and 60") }
        guard case .clients(let clients) = try await store.query(PoolStore.metaShard, .clients(poolId: pool.id, after: try input.string("NextToken"), limit: max + 1)) else { return [:] }
        var out: [String: Any] = ["UserPoolClients": clients.prefix(max).map { ["ClientId": $0.id, "UserPoolId": $0.poolId, "ClientName": $0.name] }]
        if clients.count > max { out["NextToken"] = clients[max - 1].id }
        return out
    }
}
