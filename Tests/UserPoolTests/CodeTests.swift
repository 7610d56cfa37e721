import CognitoModel
import Crypto
import Foundation
import Testing

@testable import UserPool

@Suite("Codes, messages and the outbox")
struct CodeTests {
    static let key = SymmetricKey(data: Array(repeating: UInt8(7), count: 32))

    static func digest(_ code: String, _ purpose: CodePurpose = .signUp, _ attribute: String? = nil) -> [UInt8] {
        CodeRules.digest(code, key: key, pool: "p", username: "alice", purpose: purpose, attribute: attribute)
    }

    @Test("a code is six digits, kept only as a keyed hash bound to its purpose and attribute")
    func codeShape() throws {
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<100 {
            let code = CodeRules.newCode(using: &rng)
            #expect(code.count == 6 && code.allSatisfy(\.isNumber))
        }
        #expect(Self.digest("123456") != Self.digest("123456", .recovery))
        #expect(Self.digest("123456", .attribute, "email") != Self.digest("123456", .attribute, "phone_number"))
        var user = ShardRulesTests.user
        try CodeRules.issue(&user, purpose: .signUp, attribute: "email", digest: Self.digest("123456"), now: 0)
        let stored = String(decoding: try JSONEncoder().encode(user), as: UTF8.self)
        #expect(!stored.contains("123456"))
    }

    @Test("right once, then used; a newer code supersedes the older; expiry after 24 h or 1 h for recovery")
    func lifecycle() throws {
        var u = ShardRulesTests.user
        try CodeRules.issue(&u, purpose: .signUp, attribute: "email", digest: Self.digest("111111"), now: 0)
        try CodeRules.issue(&u, purpose: .signUp, attribute: "email", digest: Self.digest("222222"), now: 1)
        #expect(CodeRules.check(&u, purpose: .signUp, attribute: nil, digest: Self.digest("111111"), now: 2) == .mismatch)
        #expect(
            CodeRules.check(&u, purpose: .signUp, attribute: nil, digest: Self.digest("222222"), now: 3)
                == .accepted(attribute: "email"))
        #expect(CodeRules.check(&u, purpose: .signUp, attribute: nil, digest: Self.digest("222222"), now: 4) == .mismatch)

        var r = ShardRulesTests.user
        let d = Self.digest("333333", .recovery)
        try CodeRules.issue(&r, purpose: .recovery, attribute: "email", digest: d, now: 0)
        #expect(CodeRules.check(&r, purpose: .recovery, attribute: nil, digest: d, now: 3_600) == .expired)
        var s = ShardRulesTests.user
        try CodeRules.issue(&s, purpose: .signUp, attribute: "email", digest: Self.digest("444444"), now: 0)
        #expect(
            CodeRules.check(&s, purpose: .signUp, attribute: nil, digest: Self.digest("444444"), now: 86_399)
                == .accepted(attribute: "email"))
    }

    @Test("five wrong codes in an hour refuse every check until the hour is over; six sends an hour are refused")
    func limits() throws {
        var u = ShardRulesTests.user
        let right = Self.digest("123456")
        try CodeRules.issue(&u, purpose: .signUp, attribute: "email", digest: right, now: 0)
        for t in 1...5 {
            #expect(CodeRules.check(&u, purpose: .signUp, attribute: nil, digest: Self.digest("000000"), now: Int64(t)) == .mismatch)
        }
        #expect(CodeRules.check(&u, purpose: .signUp, attribute: nil, digest: right, now: 10) == .limited)
        #expect(CodeRules.check(&u, purpose: .signUp, attribute: nil, digest: right, now: 3_602) == .accepted(attribute: "email"))

        var s = ShardRulesTests.user
        for t in 0..<5 { try CodeRules.issue(&s, purpose: .signUp, attribute: "email", digest: right, now: Int64(t)) }
        #expect(throws: PoolError.self) {
            try CodeRules.issue(&s, purpose: .signUp, attribute: "email", digest: right, now: 10)
        }
        try CodeRules.issue(&s, purpose: .signUp, attribute: "email", digest: right, now: 3_601)
    }

    @Test("destinations are masked as Cognito masks them; templates fill {####} and {username}")
    func masksAndTemplates() throws {
        #expect(MessageRules.mask("alice@example.com", medium: .email) == "a***@e***")
        #expect(MessageRules.mask("+15551234567", medium: .sms) == "+*******4567")
        var pool = ShardRulesTests.pool
        pool.settings.verificationMessageTemplate = VerificationMessageTemplateType()
        pool.settings.verificationMessageTemplate?.emailMessage = "<p>Hi {username}, code {####}</p>"
        let m = MessageRules.verification(
            kind: .signUp, user: ShardRulesTests.user, pool: pool, medium: .email, destination: "a@b.c",
            code: "123456", now: 0)
        #expect(m.html == "<p>Hi Alice, code 123456</p>")
        #expect(m.text == "Hi Alice, code 123456\n")
        #expect(m.subject == MessageRules.defaultVerificationSubject)
        // The username comes from a request: escaped in the HTML part, as it is in the text.
        var odd = ShardRulesTests.user
        odd.username = "<b>x</b>&"
        let escaped = MessageRules.verification(
            kind: .signUp, user: odd, pool: pool, medium: .email, destination: "a@b.c", code: "123456", now: 0)
        #expect(escaped.html == "<p>Hi &lt;b&gt;x&lt;/b&gt;&amp;, code 123456</p>")
        #expect(escaped.text == "Hi <b>x</b>&, code 123456\n")
        var bad = PoolSettings()
        bad.emailVerificationMessage = "no code"
        #expect(throws: PoolError.self) { try MessageRules.checkTemplates(bad) }
    }

    @Test("CONFIRM_WITH_LINK: the sign-up email links to the front's confirmation page; other codes stay codes")
    func confirmationLink() {
        var pool = ShardRulesTests.pool
        var t = VerificationMessageTemplateType()
        t.defaultEmailOption = .confirmWithLink
        t.emailMessageByLink = "Hello {username}, {##Click here##} to confirm."
        pool.settings.verificationMessageTemplate = t
        let link = MessageRules.ConfirmationLink(base: "https://id.example", clientId: "abc")
        let m = MessageRules.verification(
            kind: .signUp, user: ShardRulesTests.user, pool: pool, medium: .email, destination: "a@b.c", code: "123456",
            now: 0, link: link)
        let url = "https://id.example/confirmUser?client_id=abc&user_name=Alice&confirmation_code=123456"
        let href = url.replacingOccurrences(of: "&", with: "&amp;")
        #expect(m.html == "Hello Alice, <a href=\"\(href)\">Click here</a> to confirm.")
        #expect(m.text == "Hello Alice, Click here: \(url) to confirm.")
        #expect(m.subject == MessageRules.defaultLinkSubject)
        let recovery = MessageRules.verification(
            kind: .forgotPassword, user: ShardRulesTests.user, pool: pool, medium: .email, destination: "a@b.c",
            code: "123456", now: 0, link: link)
        #expect(recovery.text == "Your verification code is 123456. ")
    }

    @Test("messages enter the outbox only with the write that causes them, and leave it when reported")
    func outbox() throws {
        let shard = try Shard()
        let message = OutboxMessage(
            kind: .signUp, poolId: ShardRulesTests.pool.id, username: "alice", medium: .email, destination: "a@b.c",
            subject: "s", from: nil, replyTo: nil, text: "t", html: nil, code: "123456", createdAt: 0)
        try shard.apply(.withMessages(.createUser(ShardRulesTests.user, canonical: "alice"), messages: [message]))
        // A refused write (the user exists) queues nothing.
        let refused = try shard.apply(
            .withMessages(.createUser(ShardRulesTests.user, canonical: "alice"), messages: [message]))
        guard case .error(let e) = refused else { Issue.record("not refused: \(refused)"); return }
        #expect(e.code == .usernameExists)
        guard case .messages(let waiting) = try UserPoolReply.decode(try shard.read(.outbox(limit: 10))) else {
            Issue.record("no outbox reply"); return
        }
        #expect(waiting.count == 1 && waiting[0].message == message && waiting[0].id == "1.1.0")
        try shard.apply(.outboxDone(ids: [waiting[0].id], toInbox: true, now: 5))
        guard case .messages(let after) = try UserPoolReply.decode(try shard.read(.outbox(limit: 10))),
            case .messages(let inbox) = try UserPoolReply.decode(try shard.read(.inbox(before: nil, limit: 10)))
        else { Issue.record("no replies"); return }
        #expect(after.isEmpty)
        #expect(inbox.count == 1 && inbox[0].deliveredAt == 5)
        // Ids of another shard, or malformed, are ignored.
        try shard.apply(.outboxDone(ids: ["2.1.0", "x", "1.99.0"], toInbox: false, now: 6))
    }
}

@Suite("Hostile commands")
struct HostileCommandTests {
    @Test("a command nested far deeper than any front writes is refused by decoding, not a crash")
    func deepNesting() {
        let depth = 50_000
        let open = String(repeating: #"{"withMessages":{"messages":[],"_0":"#, count: depth)
        let json = open + #"{"deletePool":{"id":"x"}}"# + String(repeating: "}}", count: depth)
        #expect(throws: (any Error).self) { try UserPoolCommand.decode([UserPoolCommand.tag] + Array(json.utf8)) }
    }
}
