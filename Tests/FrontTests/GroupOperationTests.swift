import CognitoModel
import Testing

@testable import Front

@Suite("Groups through the front")
struct GroupOperationTests {
    @Test("CreateGroup: described as created; a second with the same name is GroupExistsException")
    func createGroup() async throws {
        try await TestFront().run { c in
            let pool = try await c.pool()
            let r = try await c.call(
                CreateGroupOperation.self,
                CreateGroupRequest(groupName: "admins", userPoolId: pool, description: "d", precedence: 2))
            #expect(r.group?.groupName == "admins" && r.group?.precedence == 2)
            let again = try await c.failure(
                CreateGroupOperation.self, CreateGroupRequest(groupName: "admins", userPoolId: pool))
            #expect(again.type == "GroupExistsException")
        }
    }

    @Test("GetGroup: the group, or ResourceNotFoundException")
    func getGroup() async throws {
        try await TestFront().run { c in
            let pool = try await c.pool()
            try await c.call(CreateGroupOperation.self, CreateGroupRequest(groupName: "g", userPoolId: pool))
            let got = try await c.call(GetGroupOperation.self, GetGroupRequest(groupName: "g", userPoolId: pool))
            #expect(got.group?.groupName == "g")
            let missing = try await c.failure(
                GetGroupOperation.self, GetGroupRequest(groupName: "none", userPoolId: pool))
            #expect(missing.type == "ResourceNotFoundException")
        }
    }

    @Test("UpdateGroup: the fields it names change")
    func updateGroup() async throws {
        try await TestFront().run { c in
            let pool = try await c.pool()
            try await c.call(CreateGroupOperation.self, CreateGroupRequest(groupName: "g", userPoolId: pool))
            let r = try await c.call(
                UpdateGroupOperation.self,
                UpdateGroupRequest(groupName: "g", userPoolId: pool, description: "new", precedence: 7))
            #expect(r.group?.description == "new" && r.group?.precedence == 7)
        }
    }

    @Test("ListGroups: every group, in pages")
    func listGroups() async throws {
        try await TestFront().run { c in
            let pool = try await c.pool()
            for i in 0..<5 {
                try await c.call(CreateGroupOperation.self, CreateGroupRequest(groupName: "g\(i)", userPoolId: pool))
            }
            var seen: [String] = []
            var token: String?
            repeat {
                let page = try await c.call(
                    ListGroupsOperation.self, ListGroupsRequest(userPoolId: pool, limit: 2, nextToken: token))
                seen += (page.groups ?? []).compactMap(\.groupName)
                token = page.nextToken
            } while token != nil
            #expect(seen.sorted() == (0..<5).map { "g\($0)" })
        }
    }

    @Test("DeleteGroup: gone, and gone from its members' groups")
    func deleteGroup() async throws {
        try await TestFront().run { c in
            let pool = try await c.pool()
            try await c.user(pool: pool, "rae")
            try await c.call(CreateGroupOperation.self, CreateGroupRequest(groupName: "g", userPoolId: pool))
            try await c.call(
                AdminAddUserToGroupOperation.self,
                AdminAddUserToGroupRequest(userPoolId: pool, username: "rae", groupName: "g"))
            try await c.call(DeleteGroupOperation.self, DeleteGroupRequest(groupName: "g", userPoolId: pool))
            let groups = try await c.call(
                AdminListGroupsForUserOperation.self, AdminListGroupsForUserRequest(username: "rae", userPoolId: pool))
            #expect(groups.groups?.isEmpty ?? true)
        }
    }

    @Test("AdminAddUserToGroup: the user's tokens carry the group")
    func adminAddUserToGroup() async throws {
        try await TestFront().run { c in
            let pool = try await c.pool()
            let client = try await c.appClient(pool: pool).clientId!
            try await c.user(pool: pool, "sam")
            try await c.call(CreateGroupOperation.self, CreateGroupRequest(groupName: "staff", userPoolId: pool))
            try await c.call(
                AdminAddUserToGroupOperation.self,
                AdminAddUserToGroupRequest(userPoolId: pool, username: "sam", groupName: "staff"))
            let tokens = try await c.signIn(client: client, "sam")
            #expect(try jwtClaims(tokens.accessToken)["cognito:groups"] == .array([.string("staff")]))
            let noGroup = try await c.failure(
                AdminAddUserToGroupOperation.self,
                AdminAddUserToGroupRequest(userPoolId: pool, username: "sam", groupName: "none"))
            #expect(noGroup.type == "ResourceNotFoundException")
        }
    }

    @Test("AdminRemoveUserFromGroup: no longer listed")
    func adminRemoveUserFromGroup() async throws {
        try await TestFront().run { c in
            let pool = try await c.pool()
            try await c.user(pool: pool, "tia")
            try await c.call(CreateGroupOperation.self, CreateGroupRequest(groupName: "g", userPoolId: pool))
            try await c.call(
                AdminAddUserToGroupOperation.self,
                AdminAddUserToGroupRequest(userPoolId: pool, username: "tia", groupName: "g"))
            try await c.call(
                AdminRemoveUserFromGroupOperation.self,
                AdminRemoveUserFromGroupRequest(userPoolId: pool, username: "tia", groupName: "g"))
            let members = try await c.call(
                ListUsersInGroupOperation.self, ListUsersInGroupRequest(userPoolId: pool, groupName: "g"))
            #expect(members.users?.isEmpty ?? true)
        }
    }

    @Test("AdminListGroupsForUser: honours Limit and NextToken")
    func adminListGroupsForUser() async throws {
        try await TestFront().run { c in
            let pool = try await c.pool()
            try await c.user(pool: pool, "uma")
            for i in 0..<5 {
                try await c.call(CreateGroupOperation.self, CreateGroupRequest(groupName: "g\(i)", userPoolId: pool))
                try await c.call(
                    AdminAddUserToGroupOperation.self,
                    AdminAddUserToGroupRequest(userPoolId: pool, username: "uma", groupName: "g\(i)"))
            }
            let first = try await c.call(
                AdminListGroupsForUserOperation.self,
                AdminListGroupsForUserRequest(username: "uma", userPoolId: pool, limit: 2))
            #expect(first.groups?.count == 2 && first.nextToken != nil)
            var seen = (first.groups ?? []).compactMap(\.groupName)
            var token = first.nextToken
            while let t = token {
                let page = try await c.call(
                    AdminListGroupsForUserOperation.self,
                    AdminListGroupsForUserRequest(username: "uma", userPoolId: pool, limit: 2, nextToken: t))
                seen += (page.groups ?? []).compactMap(\.groupName)
                token = page.nextToken
            }
            #expect(seen.sorted() == (0..<5).map { "g\($0)" })
            // Limit 0 (the model's minimum) is a whole page, never a crash or an empty loop.
            let zero = try await c.call(
                AdminListGroupsForUserOperation.self,
                AdminListGroupsForUserRequest(username: "uma", userPoolId: pool, limit: 0))
            #expect(zero.groups?.count == 5 && zero.nextToken == nil)
            let groups = try await c.call(ListGroupsOperation.self, ListGroupsRequest(userPoolId: pool, limit: 0))
            #expect(groups.groups?.count == 5)
            let members = try await c.call(
                ListUsersInGroupOperation.self, ListUsersInGroupRequest(userPoolId: pool, groupName: "g0", limit: 0))
            #expect(members.users?.count == 1 && members.nextToken == nil)
            let users = try await c.call(ListUsersOperation.self, ListUsersRequest(userPoolId: pool, limit: 0))
            #expect(users.users?.count == 1)
        }
    }

    @Test("ListUsersInGroup: the members, in pages, no token on the last")
    func listUsersInGroup() async throws {
        try await TestFront().run { c in
            let pool = try await c.pool()
            try await c.call(CreateGroupOperation.self, CreateGroupRequest(groupName: "g", userPoolId: pool))
            for i in 0..<3 {
                try await c.user(pool: pool, "m\(i)")
                try await c.call(
                    AdminAddUserToGroupOperation.self,
                    AdminAddUserToGroupRequest(userPoolId: pool, username: "m\(i)", groupName: "g"))
            }
            let all = try await c.call(
                ListUsersInGroupOperation.self, ListUsersInGroupRequest(userPoolId: pool, groupName: "g"))
            #expect(Set((all.users ?? []).compactMap(\.username)) == ["m0", "m1", "m2"])
            #expect(all.nextToken == nil)
        }
    }
}
