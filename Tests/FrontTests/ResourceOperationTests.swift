import CognitoModel
import Foundation
import Testing
import X509

@testable import Front

@Suite("Tags, the signing certificate and log delivery")
struct ResourceOperationTests {
    @Test("TagResource, UntagResource, ListTagsForResource on a pool's ARN; other ARNs refused; at most 50 tags")
    func tags() async throws {
        try await TestFront().run { c in
            let pool = try await c.pool(CreateUserPoolRequest(poolName: "tags", userPoolTags: ["team": "a"]))
            let arn = try #require(
                try await c.call(DescribeUserPoolOperation.self, DescribeUserPoolRequest(userPoolId: pool)).userPool?.arn)
            try await c.call(TagResourceOperation.self, TagResourceRequest(resourceArn: arn, tags: ["env": "prod", "team": "b"]))
            var listed = try await c.call(ListTagsForResourceOperation.self, ListTagsForResourceRequest(resourceArn: arn))
            #expect(listed.tags == ["env": "prod", "team": "b"])
            try await c.call(UntagResourceOperation.self, UntagResourceRequest(resourceArn: arn, tagKeys: ["team", "absent"]))
            listed = try await c.call(ListTagsForResourceOperation.self, ListTagsForResourceRequest(resourceArn: arn))
            #expect(listed.tags == ["env": "prod"])
            let described = try await c.call(DescribeUserPoolOperation.self, DescribeUserPoolRequest(userPoolId: pool))
            #expect(described.userPool?.userPoolTags == ["env": "prod"])
            let s3 = try await c.failure(
                ListTagsForResourceOperation.self, ListTagsForResourceRequest(resourceArn: "arn:aws:s3:us-east-1:000000000000:bucket/x"))
            #expect(s3.type == "InvalidParameterException")
            let elsewhere = try await c.failure(
                ListTagsForResourceOperation.self,
                ListTagsForResourceRequest(resourceArn: arn.replacingOccurrences(of: "us-east-1:", with: "eu-west-1:")))
            #expect(elsewhere.type == "ResourceNotFoundException")
            let tooMany = Dictionary(uniqueKeysWithValues: (0..<50).map { ("k\($0)", "v") })
            let over = try await c.failure(TagResourceOperation.self, TagResourceRequest(resourceArn: arn, tags: tooMany))
            #expect(over.type == "InvalidParameterException")
        }
    }

    @Test("GetSigningCertificate: a self-signed X.509 certificate for the pool's signing key, the same every time")
    func signingCertificate() async throws {
        try await TestFront().run { c in
            let pool = try await c.pool()
            let first = try await c.call(
                GetSigningCertificateOperation.self, GetSigningCertificateRequest(userPoolId: pool)).certificate
            let again = try await c.call(
                GetSigningCertificateOperation.self, GetSigningCertificateRequest(userPoolId: pool)).certificate
            #expect(first == again)
            let text = try #require(first)
            let der = try #require(Data(base64Encoded: text))
            let certificate = try Certificate(derEncoded: Array(der))
            #expect(certificate.subject.description.contains(pool))
            #expect(certificate.signatureAlgorithm == .sha256WithRSAEncryption)
            #expect(certificate.publicKey.isValidSignature(certificate.signature, for: certificate))
            let other = try await c.pool(CreateUserPoolRequest(poolName: "other"))
            let otherCertificate = try await c.call(
                GetSigningCertificateOperation.self, GetSigningCertificateRequest(userPoolId: other)).certificate
            #expect(otherCertificate != first)
        }
    }

    @Test("Set/GetLogDeliveryConfiguration: stored and described, kept by UpdateUserPool; bad configurations refused")
    func logDelivery() async throws {
        try await TestFront().run { c in
            let pool = try await c.pool()
            let errors = LogConfigurationType(
                logLevel: .error, eventSource: .userNotification,
                cloudWatchLogsConfiguration: CloudWatchLogsConfigurationType(
                    logGroupArn: "arn:aws:logs:us-east-1:000000000000:log-group:/aws/vendedlogs/cognito"))
            let set = try await c.call(
                SetLogDeliveryConfigurationOperation.self,
                SetLogDeliveryConfigurationRequest(userPoolId: pool, logConfigurations: [errors]))
            #expect(set.logDeliveryConfiguration?.logConfigurations == [errors])
            try await c.call(UpdateUserPoolOperation.self, UpdateUserPoolRequest(userPoolId: pool))
            let got = try await c.call(
                GetLogDeliveryConfigurationOperation.self, GetLogDeliveryConfigurationRequest(userPoolId: pool))
            #expect(got.logDeliveryConfiguration?.logConfigurations == [errors])
            for bad in [
                [errors, errors],
                [LogConfigurationType(logLevel: .info, eventSource: .userNotification, cloudWatchLogsConfiguration: errors.cloudWatchLogsConfiguration)],
                [LogConfigurationType(logLevel: .error, eventSource: .userNotification)],
            ] {
                let refused = try await c.failure(
                    SetLogDeliveryConfigurationOperation.self,
                    SetLogDeliveryConfigurationRequest(userPoolId: pool, logConfigurations: bad))
                #expect(refused.type == "InvalidParameterException", "\(bad)")
            }
            let activity = LogConfigurationType(
                logLevel: .info, eventSource: .userAuthEvents,
                cloudWatchLogsConfiguration: errors.cloudWatchLogsConfiguration)
            let notInTier = try await c.failure(
                SetLogDeliveryConfigurationOperation.self,
                SetLogDeliveryConfigurationRequest(userPoolId: pool, logConfigurations: [activity]))
            #expect(notInTier.type == "FeatureUnavailableInTierException")
        }
    }
}
