import CognitoModel

/// Tags on a user pool (TagResource and its kin) and the pool's log delivery settings.
public enum ResourceRules {
    /// AWS's limit on tags per resource.
    public static let maxTags = 50

    /// The pool id a user pool's ARN names (`arn:aws:cognito-idp:<region>:<account>:userpool/<id>`),
    /// refused for an ARN of another service, region or resource type.
    public static func poolId(fromArn arn: String, region: String) throws(PoolError) -> String {
        let parts = arn.split(separator: ":", maxSplits: 5, omittingEmptySubsequences: false)
        guard parts.count == 6, parts[0] == "arn", parts[2] == "cognito-idp", parts[5].hasPrefix("userpool/") else {
            throw PoolError(.invalidParameter, "\(arn) is not the ARN of a user pool.")
        }
        guard parts[3] == region else {
            throw PoolError(.resourceNotFound, "User pool \(arn) does not exist in \(region).")
        }
        return String(parts[5].dropFirst("userpool/".count))
    }

    /// `tags` added to the pool's (a key given again takes the new value), within the limit.
    public static func tagged(_ pool: Pool, with tags: [String: String]) throws(PoolError) -> [String: String] {
        let merged = pool.tags.merging(tags) { _, new in new }
        guard merged.count <= maxTags else {
            throw PoolError(.invalidParameter, "A user pool can have at most \(maxTags) tags.")
        }
        return merged
    }

    /// SetLogDeliveryConfiguration's rules: each event source once, with its log level
    /// (userNotification: ERROR, userAuthEvents: INFO) and one destination. User activity
    /// logs come from threat protection, which needs the PLUS tier and which Cognate does
    /// not build.
    public static func checkLogConfigurations(_ configurations: [LogConfigurationType], pool: Pool) throws(PoolError) {
        var seen: Set<EventSourceName> = []
        for c in configurations {
            guard seen.insert(c.eventSource).inserted else {
                throw PoolError(.invalidParameter, "The event source \(c.eventSource.rawValue) is configured twice.")
            }
            let destinations = [
                c.cloudWatchLogsConfiguration != nil, c.s3Configuration != nil, c.firehoseConfiguration != nil,
            ].filter { $0 }.count
            guard destinations == 1 else {
                throw PoolError(
                    .invalidParameter,
                    "Each log configuration needs exactly one of CloudWatchLogsConfiguration, S3Configuration and "
                        + "FirehoseConfiguration.")
            }
            switch c.eventSource {
            case .userNotification:
                guard c.logLevel == .error else {
                    throw PoolError(.invalidParameter, "userNotification logs are delivered at the ERROR level.")
                }
            case .userAuthEvents:
                guard pool.settings.userPoolTier == .plus else {
                    throw PoolError(
                        .featureUnavailableInTier, "User activity logs (userAuthEvents) need the PLUS tier.")
                }
                throw PoolError.notSupported("User activity logs (userAuthEvents, from threat protection)")
            case .unrecognized(let other):
                throw PoolError(.invalidParameter, "Unknown event source \(other).")
            }
        }
    }
}
