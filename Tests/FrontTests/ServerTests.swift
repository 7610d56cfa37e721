import CognitoModel
import Foundation
import HTTPTypes
import Hummingbird
import NodeRPC
import HummingbirdTesting
import Testing
import UserPool

@testable import Front

@Suite("The front's HTTP surface")
struct ServerTests {
    @Test("every operation of the model is routed or answers UnsupportedOperationException by name, never unknown")
    func everyOperationRouted() async throws {
        try await TestFront().run { c in
            for operation in CognitoOperation.allCases {
                let response = try await c.raw(operation.rawValue, Array("{}".utf8), signed: operation.requiresSigV4)
                let failure = TestFront.Client.failure(response)
                #expect(failure.type != "UnknownOperationException", "\(operation.rawValue)")
                #expect(Int(response.status.code) < 500, "\(operation.rawValue): \(failure)")
                if case .unsupported = API.routes.lookup(operation.rawValue) {
                    #expect(failure.type == "UnsupportedOperationException")
                    #expect(failure.message == "The operation \(operation.rawValue) is not supported by Cognate yet")
                }
            }
            let unknown = try await c.raw("MakeCoffee", Array("{}".utf8), signed: false)
            #expect(TestFront.Client.failure(unknown).type == "UnknownOperationException")
        }
    }

    @Test("/_cognate/inbox: no CORS headers, only for a loopback Host or the front's own, off without --dev-inbox")
    func inboxIsLocalOnly() async throws {
        for devInbox in [true, false] {
            try await TestFront(devInbox: devInbox).run { c in
                // The test client's requests name `localhost`.
                let response = try await c.http.execute(uri: "/_cognate/inbox", method: .get, headers: [:], body: nil)
                #expect(Int(response.status.code) == (devInbox ? 200 : 404))
                #expect(response.headers[HTTPField.Name("Access-Control-Allow-Origin")!] == nil)
                // The API itself keeps its CORS headers (browsers' SDKs call it).
                let api = try await c.raw("ListUserPools", Array(#"{"MaxResults":1}"#.utf8), signed: true)
                #expect(api.headers[HTTPField.Name("Access-Control-Allow-Origin")!] == "*")
            }
        }
        let hosts = FrontServer.Hosts(listen: try HostPort("127.0.0.1:9229"), publicURL: "http://127.0.0.1:9229")
        for host in ["127.0.0.1:9229", "localhost", "[::1]:9229", "127.0.0.1"] { #expect(hosts.allows(host), "\(host)") }
        for host in ["evil.example:9229", "127.0.0.1.evil.example", "", "10.0.0.1"] { #expect(!hosts.allows(host), "\(host)") }
        let published = FrontServer.Hosts(listen: try HostPort("10.0.0.5:9229"), publicURL: "https://auth.example.com")
        #expect(published.allows("auth.example.com") && published.allows("10.0.0.5:9229"))
        #expect(!published.allows("localhost") && !published.allows("evil.example"))
    }

    @Test("the model's constraints refuse a request in Cognito's words before any handler runs")
    func validationMessages() async throws {
        try await TestFront().run { c in
            let long = String(repeating: "a", count: 129)
            let body = Array(#"{"UserPoolId":"us-east-1 x","Username":"\#(long)"}"#.utf8)
            let response = try await c.raw("AdminGetUser", body, signed: true)
            let failure = TestFront.Client.failure(response)
            #expect(failure.type == "InvalidParameterException")
            #expect(
                failure.message
                    == "2 validation errors detected: Value 'us-east-1 x' at 'userPoolId' failed to satisfy "
                    + "constraint: Member must satisfy regular expression pattern: [\\w-]+_[0-9a-zA-Z]+; "
                    + "Value at 'username' failed to satisfy constraint: Member must have length less than or "
                    + "equal to 128")
            let missing = TestFront.Client.failure(try await c.raw("AdminGetUser", Array("{}".utf8), signed: true))
            #expect(missing.message.hasPrefix("2 validation errors detected: Value null at 'userPoolId'"))
            let notJSON = TestFront.Client.failure(try await c.raw("ListUserPools", Array("{".utf8), signed: true))
            #expect(notJSON.type == "SerializationException")
            let wrongType = TestFront.Client.failure(
                try await c.raw("ListUserPools", Array(#"{"MaxResults":"ten"}"#.utf8), signed: true))
            #expect(wrongType.type == "SerializationException")
            let badEnum = TestFront.Client.failure(
                try await c.raw(
                    "InitiateAuth", Array(#"{"ClientId":"abc","AuthFlow":"MAGIC"}"#.utf8), signed: false))
            #expect(badEnum.message.contains("Member must satisfy enum value set"))
        }
    }

    @Test("SigV4: admin operations need a signature whose scope names this region and cognito-idp")
    func sigV4() async throws {
        try await TestFront().run { c in
            let body = Array(#"{"MaxResults":10}"#.utf8)
            let unsigned = try await c.raw("ListUserPools", body, signed: false)
            #expect(unsigned.status.code == 403)
            #expect(TestFront.Client.failure(unsigned).type == "MissingAuthenticationTokenException")
            for (region, service) in [("eu-west-1", "cognito-idp"), ("us-east-1", "s3")] {
                let target = "AWSCognitoIdentityProviderService.ListUserPools"
                var headers: HTTPFields = [
                    .contentType: "application/x-amz-json-1.1", HTTPField.Name("X-Amz-Target")!: target,
                ]
                let signature = SigV4TestSigner.sign(
                    target: target, body: body, now: c.clock.now, region: region, service: service)
                for (name, value) in signature { headers[HTTPField.Name(name)!] = value }
                let response = try await c.http.execute(
                    uri: "/", method: .post, headers: headers, body: ByteBuffer(bytes: body))
                #expect(response.status.code == 403)
                #expect(TestFront.Client.failure(response).message.contains("Credential should be scoped"))
            }
            let signed = try await c.raw("ListUserPools", body, signed: true)
            #expect(signed.status == .ok)
        }
    }

    @Test("a shard that cannot answer is a 503 naming only a request id, not the shard's address")
    func unavailable() async throws {
        let front = try TestFront()
        try await front.run { c in
            let pool = try await c.pool()
            front.shards.setDown(true)
            let failure = try await c.failure(
                AdminGetUserOperation.self, AdminGetUserRequest(userPoolId: pool, username: "anyone"))
            #expect(failure.status == 503 && failure.type == "InternalErrorException")
            #expect(failure.message.hasPrefix("An internal error occurred. Request id: "))
            #expect(!failure.message.contains("10.0.0.7"))
            front.shards.setDown(false)
            let back = try await c.failure(
                AdminGetUserOperation.self, AdminGetUserRequest(userPoolId: pool, username: "anyone"))
            #expect(back.type == "UserNotFoundException")
        }
    }

    @Test("JWKS and the OpenID configuration verify the pool's tokens")
    func wellKnown() async throws {
        try await TestFront().run { c in
            let pool = try await c.pool()
            let jwks = try await c.http.execute(uri: "/\(pool)/.well-known/jwks.json", method: .get)
            #expect(jwks.status == .ok)
            let keys = try JSONDecoder().decode(API.JWKS.self, from: Data(jwks.body.readableBytesView))
            #expect(keys.keys.count == 1 && keys.keys[0].kty == "RSA")
            let config = try await c.http.execute(uri: "/\(pool)/.well-known/openid-configuration", method: .get)
            let document = try JSONDecoder().decode(
                API.OpenIDConfiguration.self, from: Data(config.body.readableBytesView))
            #expect(document.issuer == "http://localhost/\(pool)")
            let missing = try await c.http.execute(uri: "/us-east-1_none/.well-known/jwks.json", method: .get)
            #expect(missing.status.code == 400)
        }
    }
}
