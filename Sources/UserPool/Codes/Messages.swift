import CognitoModel
import Foundation

/// A message for a user, as the outbox keeps it until it is delivered: written in the same
/// Raft entry as the state change that caused it (the code it carries is in that change).
public struct OutboxMessage: Codable, Sendable, Equatable {
    /// What caused the message.
    public enum Kind: String, Codable, Sendable {
        case signUp
        case resendCode
        case forgotPassword
        case resetPassword
        case attributeVerification
        case invitation
        /// A sign-in's one-time code (EMAIL_OTP).
        case authentication
    }

    public var kind: Kind
    public var poolId: String
    public var username: String
    public var medium: DeliveryMediumType
    /// An email address or a phone number.
    public var destination: String
    /// Email only: the subject, the sender (the pool's `From`, else the cluster's default)
    /// and the reply-to address.
    public var subject: String?
    public var from: String?
    public var replyTo: String?
    /// The message as text; for email also as HTML (the template as the pool wrote it).
    public var text: String
    public var html: String?
    /// The code (or temporary password) it carries, for the local inbox's summary line.
    public var code: String
    public var createdAt: Int64
    /// The payload (destination, subject, sender, texts, code), sealed for the deliverers
    /// (`DeliverySealer`); those fields are empty while it is set.
    public var sealed: [UInt8]?

    /// What a sealed message hides.
    struct Payload: Codable {
        var destination: String
        var subject: String?
        var from: String?
        var replyTo: String?
        var text: String
        var html: String?
        var code: String
    }

    /// The message with its payload sealed by `seal` (the kind, pool, user, medium and time
    /// stay readable: what routing, purging and logs need).
    public func sealing(with seal: ([UInt8]) throws -> [UInt8]) throws -> OutboxMessage {
        guard sealed == nil else { return self }
        let payload = Payload(
            destination: destination, subject: subject, from: from, replyTo: replyTo, text: text, html: html, code: code
        )
        var out = self
        out.sealed = try seal(Array(JSONEncoder().encode(payload)))
        out.destination = ""
        out.subject = nil
        out.from = nil
        out.replyTo = nil
        out.text = ""
        out.html = nil
        out.code = ""
        return out
    }

    /// The message with its payload opened by `open` (as it is when not sealed).
    public func opened(with open: ([UInt8]) throws -> [UInt8]) throws -> OutboxMessage {
        guard let sealed else { return self }
        let payload = try JSONDecoder().decode(Payload.self, from: Data(try open(sealed)))
        var out = self
        out.sealed = nil
        out.destination = payload.destination
        out.subject = payload.subject
        out.from = payload.from
        out.replyTo = payload.replyTo
        out.text = payload.text
        out.html = payload.html
        out.code = payload.code
        return out
    }

    public init(
        kind: Kind, poolId: String, username: String, medium: DeliveryMediumType, destination: String,
        subject: String?, from: String?, replyTo: String?, text: String, html: String?, code: String, createdAt: Int64
    ) {
        self.kind = kind
        self.poolId = poolId
        self.username = username
        self.medium = medium
        self.destination = destination
        self.subject = subject
        self.from = from
        self.replyTo = replyTo
        self.text = text
        self.html = html
        self.code = code
        self.createdAt = createdAt
    }
}

/// A message in a shard's outbox or inbox, with its stable id (`<shard>.<index>.<n>`: the
/// Raft entry that wrote it and its place there, the same on every replica).
public struct OutboxEntry: Codable, Sendable, Equatable {
    public var id: String
    public var message: OutboxMessage
    /// Inbox only: when it was delivered there.
    public var deliveredAt: Int64?

    public init(id: String, message: OutboxMessage, deliveredAt: Int64? = nil) {
        self.id = id
        self.message = message
        self.deliveredAt = deliveredAt
    }
}

/// Where a code goes and what it says: Cognito's templates, placeholders and defaults.
public enum MessageRules {
    public static let codePlaceholder = "{####}"
    public static let usernamePlaceholder = "{username}"
    public static let defaultVerificationSubject = "Your verification code"
    public static let defaultVerificationMessage = "Your verification code is {####}. "
    public static let defaultInviteSubject = "Your temporary password"
    public static let defaultInviteMessage = "Your username is {username} and temporary password is {####}. "

    /// Where a sign-up's code goes: the phone when phone_number is auto-verified and the user
    /// has one, else the email likewise (Cognito prefers SMS when both are), or nowhere.
    public static func signUpChannel(_ user: User, pool: Pool) -> (medium: DeliveryMediumType, attribute: String)? {
        let auto = Set(pool.autoVerifiedAttributes)
        if auto.contains(.phoneNumber), user.attributes["phone_number"] != nil { return (.sms, "phone_number") }
        if auto.contains(.email), user.attributes["email"] != nil { return (.email, "email") }
        return nil
    }

    /// Where a recovery code goes: the first verified channel in the pool's
    /// AccountRecoverySetting order (by default a verified phone, then a verified email).
    public static func recoveryChannel(
        _ user: User, pool: Pool
    ) throws(PoolError) -> (
        medium: DeliveryMediumType, attribute: String
    ) {
        let mechanisms =
            pool.settings.accountRecoverySetting?.recoveryMechanisms?.sorted { $0.priority < $1.priority }.map(\.name)
            ?? [.verifiedPhoneNumber, .verifiedEmail]
        for m in mechanisms {
            switch m {
            case .verifiedEmail where isVerified(user, "email"): return (.email, "email")
            case .verifiedPhoneNumber where isVerified(user, "phone_number"): return (.sms, "phone_number")
            case .adminOnly:
                throw PoolError(.notAuthorized, "Contact administrator to reset password.")
            default: continue
            }
        }
        throw noRecoveryChannel
    }

    /// ForgotPassword for a user with no verified channel the pool recovers through.
    public static let noRecoveryChannel = PoolError(
        .invalidParameter, "Cannot reset password for the user as there is no registered/verified email or phone_number"
    )
    /// ResendConfirmationCode for a user with no attribute the pool verifies.
    public static let noSignUpChannel = PoolError(
        .invalidParameter, "The user pool verifies no attribute the user has (AutoVerifiedAttributes).")

    /// The medium an attribute's code travels by.
    public static func medium(for attribute: String) -> DeliveryMediumType? {
        switch attribute {
        case "email": .email
        case "phone_number": .sms
        default: nil
        }
    }

    /// UserAttributeUpdateSettings: the changed attributes that wait for verification before
    /// they replace the old value (an email or phone that is not a username or alias, whose
    /// old value is verified).
    public static func pendingUpdates(_ user: User, _ attributes: [String: String], pool: Pool) -> [String: String] {
        let required = Set(
            (pool.settings.userAttributeUpdateSettings?.attributesRequireVerificationBeforeUpdate ?? []).map(\.rawValue)
        )
        let unique = Set(PoolRules.uniqueAttributes(pool))
        var out: [String: String] = [:]
        for (name, value) in attributes where required.contains(name) && !unique.contains(name) {
            if let old = user.attributes[name], old != value, isVerified(user, name) { out[name] = value }
        }
        return out
    }

    /// The new values a change sends a code to: an email or phone the pool auto-verifies,
    /// changed, and not marked verified in the same request.
    public static func codesForUpdate(
        _ user: User, _ attributes: [String: String], pending: [String: String], pool: Pool, byAdmin: Bool
    ) -> [(String, String)] {
        let auto = Set(pool.autoVerifiedAttributes.map(\.rawValue))
        var out: [(String, String)] = []
        for name in ["email", "phone_number"] where auto.contains(name) {
            guard let value = pending[name] ?? attributes[name], !value.isEmpty, value != user.attributes[name] else {
                continue
            }
            if byAdmin && attributes["\(name)_verified"] == "true" { continue }
            out.append((name, value))
        }
        return out
    }

    static func isVerified(_ user: User, _ attribute: String) -> Bool {
        user.attributes[attribute] != nil && user.attributes["\(attribute)_verified"] == "true"
    }

    /// The answer's CodeDeliveryDetails: the destination masked as Cognito does
    /// (`a***@e***`, `+*******1234`).
    public static func delivery(
        _ medium: DeliveryMediumType, attribute: String, destination: String
    )
        -> CodeDeliveryDetailsType
    {
        var d = CodeDeliveryDetailsType()
        d.destination = mask(destination, medium: medium)
        d.deliveryMedium = medium
        d.attributeName = attribute
        return d
    }

    public static func mask(_ destination: String, medium: DeliveryMediumType) -> String {
        if medium == .sms {
            let chars = Array(destination)
            let keep = min(4, chars.count)
            let hidden: [Character] = chars.dropLast(keep).map { $0 == "+" ? "+" : "*" }
            return String(hidden) + String(chars.suffix(keep))
        }
        let parts = destination.split(separator: "@", maxSplits: 1)
        let local = parts.first.map { String($0.prefix(1)) } ?? ""
        let domain = parts.count > 1 ? String(parts[1].prefix(1)) : ""
        return "\(local)***@\(domain)***"
    }

    /// A verification code's message (sign-up, resend, attribute verification and recovery
    /// use the same template in Cognito).
    /// With `DefaultEmailOption = CONFIRM_WITH_LINK`, a sign-up's email carries a link to the
    /// front's confirmation page instead of the bare code: `link` names the front and the
    /// client the user signed up with.
    public static func verification(
        kind: OutboxMessage.Kind, user: User, pool: Pool, medium: DeliveryMediumType, destination: String,
        code: String, now: Int64, link: ConfirmationLink? = nil
    ) -> OutboxMessage {
        let t = pool.settings.verificationMessageTemplate
        let s = pool.settings
        if medium == .email, let link, t?.defaultEmailOption == .confirmWithLink, kind == .signUp || kind == .resendCode
        {
            return linkMessage(kind, user, pool, destination, code: code, link: link, now: now)
        }
        if medium == .sms {
            let body = t?.smsMessage ?? s.smsVerificationMessage ?? defaultVerificationMessage
            return message(
                kind, user, pool, medium, destination, subject: nil, body: body,
                code: code, now: now)
        }
        let body = t?.emailMessage ?? s.emailVerificationMessage ?? defaultVerificationMessage
        let subject = t?.emailSubject ?? s.emailVerificationSubject ?? defaultVerificationSubject
        return message(
            kind, user, pool, medium, destination, subject: subject, body: body,
            code: code, now: now)
    }

    public static let defaultAuthenticationMessage = "Your authentication code is {####}. "
    public static let defaultAuthenticationSubject = "Your authentication code"

    /// A sign-in's one-time code: by email with EmailMfaConfiguration's message and
    /// subject, by SMS with SmsMfaConfiguration's (or the pool's) SmsAuthenticationMessage.
    public static func authentication(
        user: User, pool: Pool, medium: DeliveryMediumType, destination: String, code: String, now: Int64
    ) -> OutboxMessage {
        if medium == .sms {
            let body =
                pool.settings.smsMfa?.smsAuthenticationMessage ?? pool.settings.smsAuthenticationMessage
                ?? defaultAuthenticationMessage
            return message(
                .authentication, user, pool, .sms, destination, subject: nil, body: body, code: code, now: now)
        }
        let config = pool.settings.emailMfa
        return message(
            .authentication, user, pool, .email, destination,
            subject: config?.subject ?? defaultAuthenticationSubject,
            body: config?.message ?? defaultAuthenticationMessage, code: code, now: now)
    }

    public static let defaultLinkSubject = "Your verification link"
    public static let defaultLinkMessage =
        "Please click the link below to verify your email address. {##Verify Email##} "

    /// Where a confirmation link points: `<front>/confirmUser?client_id=…&user_name=…&confirmation_code=…`,
    /// as Cognito's hosted link does.
    public struct ConfirmationLink: Sendable {
        public var base: String
        public var clientId: String

        public init(base: String, clientId: String) {
            self.base = base
            self.clientId = clientId
        }

        public func url(username: String, code: String) -> String {
            var allowed = CharacterSet.alphanumerics
            allowed.insert(charactersIn: "-._~")
            func q(_ s: String) -> String { s.addingPercentEncoding(withAllowedCharacters: allowed) ?? "" }
            return "\(base)/confirmUser?client_id=\(q(clientId))&user_name=\(q(username))&confirmation_code=\(q(code))"
        }
    }

    /// The `{##label##}` placeholder of EmailMessageByLink: the link, as an anchor in the HTML
    /// part and as "label: url" in the text part.
    static func linkMessage(
        _ kind: OutboxMessage.Kind, _ user: User, _ pool: Pool, _ destination: String, code: String,
        link: ConfirmationLink, now: Int64
    ) -> OutboxMessage {
        let t = pool.settings.verificationMessageTemplate
        let template = t?.emailMessageByLink ?? defaultLinkMessage
        let url = link.url(username: user.username, code: code)
        var html = escapeHTML(url)
        var text = url
        if let open = template.range(of: "{##"),
            let close = template.range(of: "##}", range: open.upperBound..<template.endIndex)
        {
            let label = String(template[open.upperBound..<close.lowerBound])
            let before = String(template[..<open.lowerBound])
            let after = String(template[close.upperBound...])
            let filledBefore = fill(before, code: code, username: escapeHTML(user.username))
            let filledAfter = fill(after, code: code, username: escapeHTML(user.username))
            html = filledBefore + "<a href=\"\(escapeHTML(url))\">\(label)</a>" + filledAfter
            text = plainText(filledBefore + "\(label): \(url)" + filledAfter)
        }
        let config = pool.settings.emailConfiguration
        return OutboxMessage(
            kind: kind, poolId: pool.id, username: user.username, medium: .email, destination: destination,
            subject: t?.emailSubjectByLink ?? defaultLinkSubject, from: sender(config),
            replyTo: config?.replyToEmailAddress, text: text, html: html, code: code, createdAt: now)
    }

    /// AdminCreateUser's invitation: the username and the temporary password.
    public static func invitation(
        user: User, pool: Pool, medium: DeliveryMediumType, destination: String, temporaryPassword: String, now: Int64
    ) -> OutboxMessage {
        let t = pool.settings.adminCreateUserConfig?.inviteMessageTemplate
        let body =
            (medium == .sms ? t?.smsMessage : t?.emailMessage) ?? defaultInviteMessage
        let subject = medium == .email ? (t?.emailSubject ?? defaultInviteSubject) : nil
        return message(
            .invitation, user, pool, medium, destination, subject: subject,
            body: body, code: temporaryPassword, now: now)
    }

    /// The invitations AdminCreateUser sends, one per desired medium the user can receive.
    /// Without `DesiredDeliveryMediums` (nil: SMS, Cognito's default) a user with no phone
    /// number is created and nothing is sent, as in Cognito; mediums the request names
    /// that the user has no address for are refused.
    public static func invitations(
        _ user: User, pool: Pool, mediums desired: [DeliveryMediumType]?, temporaryPassword: String, now: Int64
    ) throws(PoolError) -> [OutboxMessage] {
        let mediums = desired ?? [.sms]
        var out: [OutboxMessage] = []
        for medium in Set(mediums).sorted(by: { $0.description < $1.description }) {
            let attribute = medium == .email ? "email" : "phone_number"
            guard let destination = user.attributes[attribute] else { continue }
            out.append(
                invitation(
                    user: user, pool: pool, medium: medium, destination: destination,
                    temporaryPassword: temporaryPassword, now: now))
        }
        guard !out.isEmpty || desired == nil else {
            let names = mediums.map(\.description).joined(separator: ", ")
            throw PoolError(.invalidParameter, "User has no attribute matching desired delivery mediums (\(names))")
        }
        return out
    }

    /// A message from a template: for SMS the text filled in; for email the template as the
    /// HTML part (the username escaped, as it comes from a request) and its text part.
    static func message(
        _ kind: OutboxMessage.Kind, _ user: User, _ pool: Pool, _ medium: DeliveryMediumType, _ destination: String,
        subject: String?, body template: String, code: String, now: Int64
    ) -> OutboxMessage {
        let email = medium == .email
        let config = pool.settings.emailConfiguration
        let html = email ? fill(template, code: escapeHTML(code), username: escapeHTML(user.username)) : nil
        return OutboxMessage(
            kind: kind, poolId: pool.id, username: user.username, medium: medium, destination: destination,
            subject: subject.map { fill($0, code: code, username: user.username) }, from: email ? sender(config) : nil,
            replyTo: email ? config?.replyToEmailAddress : nil,
            text: html.map(plainText) ?? fill(template, code: code, username: user.username), html: html, code: code,
            createdAt: now)
    }

    /// The pool's `From` when it sends as itself (`EmailSendingAccount = DEVELOPER`); with
    /// COGNITO_DEFAULT (or none) the cluster's default sender (nil here).
    static func sender(_ config: EmailConfigurationType?) -> String? {
        config?.emailSendingAccount == .developer ? config?.from : nil
    }

    public static func escapeHTML(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    /// `{####}` becomes the code, `{username}` the username.
    static func fill(_ template: String, code: String, username: String) -> String {
        template.replacingOccurrences(of: usernamePlaceholder, with: username)
            .replacingOccurrences(of: codePlaceholder, with: code)
    }

    /// The text part of an HTML template: tags dropped, line breaks kept.
    static func plainText(_ html: String) -> String {
        guard html.contains("<") else { return html }
        var out = ""
        var inTag = false
        var tag = ""
        for ch in html {
            if ch == "<" {
                inTag = true
                tag = ""
            } else if ch == ">" && inTag {
                inTag = false
                let name = tag.lowercased().trimmingCharacters(in: .whitespaces)
                if name.hasPrefix("br") || name.hasPrefix("/p") || name.hasPrefix("/div") { out.append("\n") }
            } else if inTag {
                tag.append(ch)
            } else {
                out.append(ch)
            }
        }
        return out.replacingOccurrences(of: "&nbsp;", with: " ").replacingOccurrences(of: "&lt;", with: "<")
            .replacingOccurrences(of: "&gt;", with: ">").replacingOccurrences(of: "&quot;", with: "\"")
            .replacingOccurrences(of: "&amp;", with: "&")
    }

    /// The template rules Cognito checks on CreateUserPool and UpdateUserPool.
    public static func checkTemplates(_ s: PoolSettings) throws(PoolError) {
        func need(_ text: String?, _ placeholder: String, _ field: String) throws(PoolError) {
            if let text, !text.contains(placeholder) {
                throw PoolError(
                    .invalidParameter, "\(field) must contain the \(placeholder) placeholder; it is \"\(text)\"")
            }
        }
        let t = s.verificationMessageTemplate
        try need(t?.emailMessage, codePlaceholder, "VerificationMessageTemplate.EmailMessage")
        try need(t?.smsMessage, codePlaceholder, "VerificationMessageTemplate.SmsMessage")
        try need(s.emailVerificationMessage, codePlaceholder, "EmailVerificationMessage")
        try need(s.smsVerificationMessage, codePlaceholder, "SmsVerificationMessage")
        try need(s.smsAuthenticationMessage, codePlaceholder, "SmsAuthenticationMessage")
        try need(t?.emailMessageByLink, "{##", "VerificationMessageTemplate.EmailMessageByLink")
        try need(t?.emailMessageByLink, "##}", "VerificationMessageTemplate.EmailMessageByLink")
        let invite = s.adminCreateUserConfig?.inviteMessageTemplate
        for (text, field) in [(invite?.emailMessage, "EmailMessage"), (invite?.smsMessage, "SMSMessage")] {
            try need(text, codePlaceholder, "InviteMessageTemplate.\(field)")
            try need(text, usernamePlaceholder, "InviteMessageTemplate.\(field)")
        }
    }
}
