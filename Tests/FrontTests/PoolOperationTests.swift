import CognitoModel
import Foundation
import Sharding
import Testing
import UserPool

@testable import Front

@Suite("Pools through the front")
struct PoolOperationTests {
    @Test("CreateUserPool: Cognito's defaults, the standard schema with birthdate 10/10, an id in the region")
    func createUserPool() async throws {
        try await TestFront().run { c in
            let pool = try #require(
                try await c.call(CreateUserPoolOperation.self, CreateUserPoolRequest(poolName: "demo")).userPool)
            #expect(pool.id?.hasPrefix("us-east-1_") == true)
            #expect(pool.policies?.passwordPolicy?.minimumLength == 8)
            let birthdate = pool.schemaAttributes?.first { $0.name == "birthdate" }
            #expect(birthdate?.stringAttributeConstraints?.minLength == "10")
            #expect(birthdate?.stringAttributeConstraints?.maxLength == "10")
            #expect(pool.estimatedNumberOfUsers == 0)
            #expect(pool.mfaConfiguration == .off)
        }
    }

    @Test("CreateUserPool: a custom attribute without a type, a changed standard type, bad constraints are refused")
    func createUserPoolSchemaRules() async throws {
        try await TestFront().run { c in
            func refusal(_ schema: [SchemaAttributeType]) async throws -> APIFailure {
                try await c.failure(
                    CreateUserPoolOperation.self, CreateUserPoolRequest(poolName: "bad", schema: schema))
            }
            let untyped = try await refusal([SchemaAttributeType(name: "color")])
            #expect(untyped.type == "InvalidParameterException")
            let retyped = try await refusal([SchemaAttributeType(name: "email", attributeDataType: .number)])
            #expect(retyped.message.contains("You can not change AttributeDataType"))
            let inverted = try await refusal([
                SchemaAttributeType(
                    name: "size", attributeDataType: .string,
                    stringAttributeConstraints: StringAttributeConstraintsType(minLength: "9", maxLength: "3"))
            ])
            #expect(inverted.type == "InvalidParameterException")
            let tooLong = try await refusal([
                SchemaAttributeType(
                    name: "bio", attributeDataType: .string,
                    stringAttributeConstraints: StringAttributeConstraintsType(maxLength: "2049"))
            ])
            #expect(tooLong.type == "InvalidParameterException")
            let notNumber = try await refusal([
                SchemaAttributeType(
                    name: "age", attributeDataType: .number,
                    numberAttributeConstraints: NumberAttributeConstraintsType(minValue: "ten"))
            ])
            #expect(notNumber.type == "InvalidParameterException")
        }
    }

    @Test("DescribeUserPool: EstimatedNumberOfUsers is the users written, from the shards' counters")
    func describeUserPool() async throws {
        let front = try TestFront()
        try await front.run { c in
            let pool = try await c.pool()
            let client = try await c.appClient(pool: pool).clientId!
            for i in 0..<7 {
                try await c.call(
                    SignUpOperation.self, SignUpRequest(clientId: client, username: "u\(i)", password: "Passw0rd!"))
            }
            try await c.call(AdminDeleteUserOperation.self, AdminDeleteUserRequest(userPoolId: pool, username: "u3"))
            let described = try await c.call(DescribeUserPoolOperation.self, DescribeUserPoolRequest(userPoolId: pool))
            #expect(described.userPool?.estimatedNumberOfUsers == 6)
            let missing = try await c.failure(
                DescribeUserPoolOperation.self, DescribeUserPoolRequest(userPoolId: "us-east-1_nothere1"))
            #expect(missing.type == "ResourceNotFoundException")
        }
    }

    @Test("UpdateUserPool: settings are validated, stored and described (even before the features using them)")
    func updateUserPool() async throws {
        try await TestFront().run { c in
            let pool = try await c.pool()
            let recovery = AccountRecoverySettingType(recoveryMechanisms: [
                RecoveryOptionType(priority: 1, name: .verifiedEmail)
            ])
            let lambda = LambdaConfigType(preSignUp: "arn:aws:lambda:us-east-1:123456789012:function:pre")
            try await c.call(
                UpdateUserPoolOperation.self,
                UpdateUserPoolRequest(
                    userPoolId: pool, lambdaConfig: lambda, emailVerificationMessage: "Your code is {####}",
                    accountRecoverySetting: recovery))
            let described = try await c.call(DescribeUserPoolOperation.self, DescribeUserPoolRequest(userPoolId: pool))
            #expect(described.userPool?.lambdaConfig?.preSignUp == lambda.preSignUp)
            #expect(described.userPool?.accountRecoverySetting == recovery)
            #expect(described.userPool?.emailVerificationMessage == "Your code is {####}")
            let noCode = try await c.failure(
                UpdateUserPoolOperation.self,
                UpdateUserPoolRequest(userPoolId: pool, emailVerificationMessage: "no placeholder here"))
            #expect(noCode.type == "InvalidParameterException")
        }
    }

    @Test("DeleteUserPool: refused under deletion protection, then gone")
    func deleteUserPool() async throws {
        try await TestFront().run { c in
            let pool = try await c.pool(CreateUserPoolRequest(poolName: "kept", deletionProtection: .active))
            let refused = try await c.failure(DeleteUserPoolOperation.self, DeleteUserPoolRequest(userPoolId: pool))
            #expect(refused.type == "InvalidParameterException")
            try await c.call(
                UpdateUserPoolOperation.self, UpdateUserPoolRequest(userPoolId: pool, deletionProtection: .inactive))
            try await c.call(DeleteUserPoolOperation.self, DeleteUserPoolRequest(userPoolId: pool))
            let gone = try await c.failure(DescribeUserPoolOperation.self, DescribeUserPoolRequest(userPoolId: pool))
            #expect(gone.type == "ResourceNotFoundException")
        }
    }

    @Test("DeleteUserPool removes the pool's users, subs, memberships, claims, phantoms and messages from every user shard; a late write is refused")
    func deleteUserPoolPurges() async throws {
        let front = try TestFront()
        try await front.run { c in
            let pool = try await c.pool(
                CreateUserPoolRequest(poolName: "gone", autoVerifiedAttributes: [.email], aliasAttributes: [.email]))
            let kept = try await c.pool(CreateUserPoolRequest(poolName: "kept"))
            let client = try await c.appClient(pool: pool).clientId!
            try await c.call(CreateGroupOperation.self, CreateGroupRequest(groupName: "g", userPoolId: pool))
            for i in 0..<30 {
                try await c.call(
                    SignUpOperation.self,
                    SignUpRequest(
                        clientId: client, username: "u\(i)", password: "Passw0rd!",
                        userAttributes: [AttributeType(name: "email", value: "u\(i)@example.com")]))
                try await c.call(
                    AdminAddUserToGroupOperation.self,
                    AdminAddUserToGroupRequest(userPoolId: pool, username: "u\(i)", groupName: "g"))
            }
            _ = try? await c.signIn(client: client, "nobody", password: "Wrong0ne!")
            try await c.user(pool: kept, "stays")
            #expect(try await front.outbox().contains { $0.message.poolId == pool })
            func keys(of id: String) throws -> Int {
                try front.shards.env.read { txn in
                    var n = 0
                    for shard in 1...UInt32(TestFront.userShards) {
                        try txn.scan(front.shards.tables.data, from: ShardKeys.prefix(shard), to: ShardKeys.end(shard)) {
                            k, _ in
                            if Data(k).range(of: Data(id.utf8)) != nil { n += 1 }
                            return true
                        }
                    }
                    return n
                }
            }
            #expect(try keys(of: pool) > 120)
            let keptBefore = try keys(of: kept)
            try await c.call(DeleteUserPoolOperation.self, DeleteUserPoolRequest(userPoolId: pool))
            // Only each shard's mark of the deleted pool is left (dp/<pool>); the other pool is whole.
            #expect(try keys(of: pool) == TestFront.userShards)
            #expect(try keys(of: kept) == keptBefore)
            #expect(try await !front.outbox().contains { $0.message.poolId == pool })
            // A front that still had the pool cached cannot write to it any more.
            let store = front.api.store
            await #expect(throws: PoolError.self) {
                try await store.propose(
                    store.userShard(pool: pool, canonical: "late"),
                    .phantomCode(poolId: pool, canonical: "late", use: .send, now: 1))
            }
            #expect(try keys(of: pool) == TestFront.userShards)
        }
    }

    @Test("PasswordHistorySize: the last n passwords (the current one too) are refused by every way of setting one")
    func passwordHistory() async throws {
        try await TestFront().run { c in
            let policy = PasswordPolicyType(minimumLength: 8, passwordHistorySize: 3)
            let pool = try await c.pool(
                CreateUserPoolRequest(poolName: "history", policies: UserPoolPolicyType(passwordPolicy: policy)))
            let described = try await c.call(
                DescribeUserPoolOperation.self, DescribeUserPoolRequest(userPoolId: pool))
            #expect(described.userPool?.policies?.passwordPolicy?.passwordHistorySize == 3)
            let client = try await c.appClient(pool: pool).clientId!
            try await c.user(pool: pool, "hal", password: "Passw0rd!a")
            func set(_ password: String) async throws -> String? {
                do {
                    try await c.call(
                        AdminSetUserPasswordOperation.self,
                        AdminSetUserPasswordRequest(userPoolId: pool, username: "hal", password: password, permanent: true))
                    return nil
                } catch let e as APIFailure { return e.type }
            }
            func change(_ from: String, _ to: String) async throws -> String? {
                let token = try await c.signIn(client: client, "hal", password: from).accessToken!
                do {
                    try await c.call(
                        ChangePasswordOperation.self,
                        ChangePasswordRequest(previousPassword: from, proposedPassword: to, accessToken: token))
                    return nil
                } catch let e as APIFailure { return e.type }
            }
            let violation = "PasswordHistoryPolicyViolationException"
            #expect(try await set("Passw0rd!a") == violation)  // the current one
            #expect(try await change("Passw0rd!a", "Passw0rd!b") == nil)
            #expect(try await change("Passw0rd!b", "Passw0rd!a") == violation)
            #expect(try await change("Passw0rd!b", "Passw0rd!c") == nil)
            #expect(try await set("Passw0rd!a") == violation)
            #expect(try await set("Passw0rd!d") == nil)  // a, b, c, d: a has left the last three
            #expect(try await change("Passw0rd!d", "Passw0rd!a") == nil)
            #expect(try await change("Passw0rd!a", "Passw0rd!d") == violation)
            // A pool without it lets a password come back.
            let free = try await c.pool(CreateUserPoolRequest(poolName: "free"))
            try await c.user(pool: free, "ivy", password: "Passw0rd!a")
            try await c.call(
                AdminSetUserPasswordOperation.self,
                AdminSetUserPasswordRequest(userPoolId: free, username: "ivy", password: "Passw0rd!a", permanent: true))
            // LITE has no password history; threat protection is not built.
            let lite = try await c.failure(
                CreateUserPoolOperation.self,
                CreateUserPoolRequest(
                    poolName: "lite", policies: UserPoolPolicyType(passwordPolicy: policy), userPoolTier: .lite))
            #expect(lite.type == "FeatureUnavailableInTierException")
            let enforced = try await c.failure(
                CreateUserPoolOperation.self,
                CreateUserPoolRequest(poolName: "asf", userPoolAddOns: UserPoolAddOnsType(advancedSecurityMode: .enforced)))
            #expect(enforced.type == "UnsupportedOperationException" && enforced.message.contains("AdvancedSecurityMode"))
        }
    }

    @Test("ListUserPools: pages of MaxResults, a NextToken only while more remain")
    func listUserPools() async throws {
        try await TestFront().run { c in
            var made: Set<String> = []
            for i in 0..<5 { made.insert(try await c.pool(CreateUserPoolRequest(poolName: "p\(i)"))) }
            var seen: [String] = []
            var token: String?
            repeat {
                let page = try await c.call(
                    ListUserPoolsOperation.self, ListUserPoolsRequest(nextToken: token, maxResults: 2))
                #expect((page.userPools ?? []).count <= 2)
                seen += (page.userPools ?? []).compactMap(\.id)
                token = page.nextToken
            } while token != nil
            #expect(Set(seen) == made && seen.count == 5)
            let zero = try await c.failure(ListUserPoolsOperation.self, ListUserPoolsRequest(maxResults: 0))
            #expect(zero.message.contains("Member must have value greater than or equal to 1"))
        }
    }

    @Test("AddCustomAttributes: added as custom:, described; a duplicate or a standard name is refused")
    func addCustomAttributes() async throws {
        try await TestFront().run { c in
            let pool = try await c.pool()
            try await c.call(
                AddCustomAttributesOperation.self,
                AddCustomAttributesRequest(
                    userPoolId: pool,
                    customAttributes: [
                        SchemaAttributeType(name: "team", attributeDataType: .string),
                        SchemaAttributeType(name: "secret", attributeDataType: .string, developerOnlyAttribute: true),
                    ]))
            let described = try await c.call(DescribeUserPoolOperation.self, DescribeUserPoolRequest(userPoolId: pool))
            let names = Set((described.userPool?.schemaAttributes ?? []).compactMap(\.name))
            #expect(names.contains("custom:team"))
            #expect(names.contains("dev:custom:secret"))
            let again = try await c.failure(
                AddCustomAttributesOperation.self,
                AddCustomAttributesRequest(
                    userPoolId: pool, customAttributes: [SchemaAttributeType(name: "team", attributeDataType: .string)]
                ))
            #expect(again.type == "InvalidParameterException")
        }
    }
}
