/// What the pool domain's `/oauth2/userInfo` answers for an access token's scopes, as
/// Cognito's developer guide has it: `openid` alone, every attribute the client may read;
/// with `profile`, `email` or `phone`, only theirs. Always `sub` and `username`; values as
/// text (verification flags too, as Cognito gives them).
public enum UserInfoRules {
    /// The OpenID Connect standard claims `profile` reaches (custom attributes too).
    static let profile: Set<String> = [
        "name", "family_name", "given_name", "middle_name", "nickname", "preferred_username", "profile", "picture",
        "website", "gender", "birthdate", "zoneinfo", "locale", "updated_at",
    ]

    public static func claims(_ user: User, scopes: [String], client: AppClient, pool: Pool) -> [String: String] {
        let readable = AttributeRules.readable(user, client: client, pool: pool)
        let asked = Set(scopes)
        var out = readable
        if !asked.isDisjoint(with: ["profile", "email", "phone"]) {
            out = readable.filter { name, _ in
                (asked.contains("profile") && (profile.contains(name) || name.hasPrefix("custom:")))
                    || (asked.contains("email") && (name == "email" || name == "email_verified"))
                    || (asked.contains("phone") && (name == "phone_number" || name == "phone_number_verified"))
            }
        }
        out["sub"] = user.sub
        out["username"] = user.username
        return out
    }
}
