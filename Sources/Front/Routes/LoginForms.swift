import AuthCrypto
import CognitoModel
import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import UserPool

/// The managed login's forms: each page's fields, and what a posted form does. Sign-in runs
/// the sign-in machine (`.managedLogin`, then its challenges); sign-up, confirmation and
/// password recovery run the same operations as the API's, with the client's secret hash
/// computed here (the pages are the user pool's own).
extension FrontServer {
    typealias Field = Pages.Field

    func loginPage(_ page: LoginPage, _ request: Request, domain: String, posted: Bool) async -> Response {
        var request = request
        var login: Login
        switch await loginContext(request, domain: domain) {
        case .success(let l): login = l
        case .failure(let refusal): return refusal.response
        }
        let query = (try? Self.form(Array((request.uri.query ?? "").utf8))) ?? [:]
        login.query = query.filter { !["username", "notice"].contains($0.key) }.sorted { $0.key < $1.key }
            .map { "\($0.key)=\(Self.percentEncode($0.value))" }.joined(separator: "&")
        guard posted else {
            if page == .mfa { return Self.redirect(login.path("login")) }
            if page == .signup && login.pool.allowAdminCreateUserOnly {
                return Self.errorPage(.forbidden, "Sign-up is not permitted for this user pool.")
            }
            var view = form(page, login, username: query["username"] ?? login.request.loginHint ?? "")
            view.notice = query["notice"].flatMap { Self.notices[$0] }
            return show(view, login)
        }
        let fields: [String: String]
        do {
            let body = try await request.collectBody(upTo: 64 << 10)
            fields = try Self.form(Array(body.readableBytesView))
        } catch {
            return Self.errorPage(.badRequest, "The form is malformed or over 64 KiB.")
        }
        guard let given = fields["_csrf"], !login.newCsrf,
            Array(given.utf8).count == Array(login.csrf.utf8).count,
            zip(given.utf8, login.csrf.utf8).reduce(0, { $0 | ($1.0 ^ $1.1) }) == 0
        else {
            return Self.errorPage(
                .forbidden, "The form has expired or did not come from this page. Reload it and try again.")
        }
        do {
            return try await submit(page, fields, login)
        } catch let e as PoolError where e.code != .unavailable && e.code != .internalError {
            var view = form(page, login, username: fields["username"] ?? "")
            if page == .mfa, let step = try? challengeForm(fields, login) { view = step }
            view.error = e.message
            return show(view, login, status: .badRequest)
        } catch {
            return reply(error, operation: "login/\(page.rawValue)", cors: false)
        }
    }

    /// Fixed notices a redirect may ask a page to show (never text from the URL).
    static let notices: [String: String] = [
        "confirmed": "Your account is confirmed. Sign in to continue.",
        "reset": "Your password is changed. Sign in with the new one.",
    ]

    func show(_ page: Pages.Page, _ login: Login, status: HTTPResponse.Status = .ok) -> Response {
        let cookies =
            login.newCsrf ? [Self.cookie(Self.csrfCookie, login.csrf, login: login, maxAge: nil)] : []
        var page = page
        page.css = login.css
        page.logo = login.logo
        return Self.html(status, page, cookies: cookies)
    }

    func secretHash(_ login: Login, _ username: String) -> String? {
        login.client.secrets.first.map {
            SecretHash.compute(clientSecret: $0.value, username: username, clientId: login.client.id)
        }
    }

    /// A page's form, empty but for the username.
    func form(_ page: LoginPage, _ login: Login, username: String) -> Pages.Page {
        let name = login.client.name
        var view = Pages.Page(
            title: "", heading: "", appName: name, action: login.path(page.rawValue), csrf: login.csrf)
        let user = Field(name: "username", label: "Username", autocomplete: "username", value: username)
        let code = Field(name: "code", label: "Code", autocomplete: "one-time-code", numeric: true)
        switch page {
        case .login, .mfa:
            view.title = "Sign in"
            view.heading = "Sign in to \(name)"
            view.fields = [
                user, Field(name: "password", label: "Password", type: "password", autocomplete: "current-password"),
            ]
            view.fields[username.isEmpty ? 0 : 1].autofocus = true
            view.submit = "Sign in"
            if FirstFactorRules.allowed(login.pool).contains(.webAuthn), login.pool.settings.webAuthn != nil {
                view.altSubmit = "Sign in with a passkey"
                view.altValue = "passkey"
            }
            view.links = [Pages.Link(id: "forgot", href: login.path("forgotPassword"), text: "Forgot your password?")]
            if !login.pool.allowAdminCreateUserOnly {
                view.links.append(
                    Pages.Link(id: "signup", href: login.path("signup"), text: "Need an account? Sign up"))
            }
        case .signup:
            view.title = "Sign up"
            view.heading = "Create an account for \(name)"
            view.fields = [
                user, Field(name: "email", label: "Email", type: "email", autocomplete: "email"),
                Field(name: "password", label: "Password", type: "password", autocomplete: "new-password"),
            ]
            view.fields[0].autofocus = true
            view.submit = "Sign up"
            view.legal = login.terms
            view.links = [Pages.Link(id: "signin", href: login.path("login"), text: "Have an account? Sign in")]
        case .confirmUser:
            view.title = "Confirm your account"
            view.heading = "Confirm your account"
            view.message = "Enter the code we sent you."
            view.fields = [user, code]
            view.fields[username.isEmpty ? 0 : 1].autofocus = true
            view.submit = "Confirm account"
            view.links = [Pages.Link(id: "signin", href: login.path("login"), text: "Back to sign in")]
        case .forgotPassword:
            view.title = "Forgot your password?"
            view.heading = "Reset your password"
            view.fields = [user]
            view.fields[0].autofocus = true
            view.submit = "Send a code"
            view.links = [Pages.Link(id: "signin", href: login.path("login"), text: "Back to sign in")]
        case .confirmForgotPassword:
            view.title = "Reset your password"
            view.heading = "Reset your password"
            view.fields = [
                user, code,
                Field(name: "password", label: "New password", type: "password", autocomplete: "new-password"),
            ]
            view.fields[username.isEmpty ? 0 : 1].autofocus = true
            view.submit = "Change password"
            view.links = [Pages.Link(id: "signin", href: login.path("login"), text: "Back to sign in")]
        }
        return view
    }

    /// What a posted form does.
    func submit(_ page: LoginPage, _ fields: [String: String], _ login: Login) async throws -> Response {
        func field(_ name: String, max: Int = 2_048) throws(PoolError) -> String {
            guard let v = fields[name]?.trimmingCharacters(in: name == "password" ? [] : .whitespaces), !v.isEmpty,
                v.utf8.count <= max
            else { throw PoolError(.invalidParameter, "Fill in \(name == "code" ? "the code" : name).") }
            return v
        }
        switch page {
        case .login where fields["method"] == "passkey":
            let username = try field("username")
            let answer = try await api.signIn.run(
                .managedPasskey(username: username), pool: login.pool, client: login.client, issue: false)
            guard answer.challengeName == .webAuthn else {
                throw PoolError(.notAuthorized, "No passkey can sign in this user: sign in with the password.")
            }
            return await next(answer, login, username: username)
        case .login:
            let answer = try await api.signIn.run(
                .managedLogin(username: try field("username"), password: try field("password")), pool: login.pool,
                client: login.client, issue: false)
            return await next(answer, login, username: try field("username"))
        case .mfa:
            let challenge = ChallengeNameType(rawValue: try field("challenge"))
            guard Self.pageChallenges.contains(challenge) else {
                throw PoolError(.invalidParameter, "The sign-in step is not one these pages answer.")
            }
            let username = try field("username")
            var session = try field("session")
            var responses = ["USERNAME": username]
            switch challenge {
            case .mfaSetup:
                // The authenticator's first code makes it the user's MFA; then the step is done.
                let verified = try await api.verifySoftwareToken(
                    try Self.valid(VerifySoftwareTokenRequest(session: session, userCode: try field("code"))))
                guard let next = verified.session else { throw PoolError(.internalError, "no session to go on with") }
                session = next
            case .selectMfaType: responses["ANSWER"] = try field("answer")
            case .webAuthn: responses["CREDENTIAL"] = try field("credential", max: 65_536)
            case .newPasswordRequired: responses["NEW_PASSWORD"] = try field("password")
            default: responses[Self.answerKey[challenge] ?? ""] = try field("code")
            }
            responses["SECRET_HASH"] = secretHash(login, username)
            let answer = try await api.signIn.run(
                .respond(challenge, responses: responses, session: session), pool: login.pool,
                client: login.client, issue: false)
            return await next(answer, login, username: username)
        case .signup:
            let username = try field("username")
            let r = try Self.valid(
                SignUpRequest(
                    clientId: login.client.id, secretHash: secretHash(login, username), username: username,
                    password: try field("password"),
                    userAttributes: [AttributeType(name: "email", value: try field("email"))]))
            let answer = try await api.signUp(r)
            if answer.userConfirmed {
                return Self.redirect(login.path("login", [("notice", "confirmed"), ("username", username)]))
            }
            return Self.redirect(login.path("confirmUser", [("username", username)]))
        case .confirmUser:
            let username = try field("username")
            _ = try await api.confirmSignUp(
                try Self.valid(
                    ConfirmSignUpRequest(
                        clientId: login.client.id, secretHash: secretHash(login, username), username: username,
                        confirmationCode: try field("code"))))
            return Self.redirect(login.path("login", [("notice", "confirmed"), ("username", username)]))
        case .forgotPassword:
            let username = try field("username")
            _ = try await api.forgotPassword(
                try Self.valid(
                    ForgotPasswordRequest(
                        clientId: login.client.id, secretHash: secretHash(login, username), username: username)))
            return Self.redirect(login.path("confirmForgotPassword", [("username", username)]))
        case .confirmForgotPassword:
            let username = try field("username")
            _ = try await api.confirmForgotPassword(
                try Self.valid(
                    ConfirmForgotPasswordRequest(
                        clientId: login.client.id, secretHash: secretHash(login, username), username: username,
                        confirmationCode: try field("code"), password: try field("password"))))
            return Self.redirect(login.path("login", [("notice", "reset"), ("username", username)]))
        }
    }

    /// The response key each code challenge takes its code in.
    static let answerKey: [ChallengeNameType: String] = [
        .softwareTokenMfa: "SOFTWARE_TOKEN_MFA_CODE", .smsMfa: "SMS_MFA_CODE", .emailOtp: "EMAIL_OTP_CODE",
    ]
    /// The sign-in steps the pages answer.
    static let pageChallenges: Set<ChallengeNameType> = [
        .softwareTokenMfa, .smsMfa, .emailOtp, .newPasswordRequired, .selectMfaType, .mfaSetup, .webAuthn,
    ]

    static func valid<R: CognitoShape>(_ r: R) throws(PoolError) -> R {
        let failures = r.validationFailures()
        guard failures.isEmpty else { throw PoolError(.invalidParameter, ValidationFailure.message(failures)) }
        return r
    }

    /// After a sign-in step: back to the client, or the next step's page.
    func next(_ answer: SignInAnswer, _ login: Login, username: String) async -> Response {
        if let done = answer.signedIn { return await finish(login, done.user, authTime: done.authTime, amr: done.amr) }
        let canSetUp = Self.list(answer.challengeParameters["MFAS_CAN_SETUP"])
        guard let challenge = answer.challengeName, Self.pageChallenges.contains(challenge),
            challenge != .mfaSetup || canSetUp.contains("SOFTWARE_TOKEN_MFA"), var session = answer.session
        else {
            let name = answer.challengeName?.rawValue ?? "an unknown step"
            return Self.errorPage(
                .notImplemented,
                "This sign-in needs \(name), which the managed login pages do not offer yet; sign in through the API.")
        }
        var fields = [
            "challenge": challenge.rawValue, "session": session,
            "username": answer.challengeParameters["USER_ID_FOR_SRP"] ?? username,
        ]
        fields["destination"] = answer.challengeParameters["CODE_DELIVERY_DESTINATION"]
        fields["choices"] = Self.list(answer.challengeParameters["MFAS_CAN_CHOOSE"]).joined(separator: " ")
        fields["options"] = answer.challengeParameters["CREDENTIAL_REQUEST_OPTIONS"]
        do {
            if challenge == .mfaSetup {
                // An authenticator app to set up: its key, and the session that verifies it.
                let associated = try await api.associateSoftwareToken(AssociateSoftwareTokenRequest(session: session))
                guard let next = associated.session, let secret = associated.secretCode else {
                    throw PoolError(.internalError, "no authenticator key")
                }
                session = next
                fields["session"] = next
                fields["secret"] = secret
            }
            return show(try challengeForm(fields, login), login)
        } catch let e as PoolError where e.code != .internalError && e.code != .unavailable {
            return Self.errorPage(.badRequest, e.message)
        } catch {
            return reply(error, operation: "login/mfa", cors: false)
        }
    }

    /// A challenge parameter that is a JSON list of names.
    static func list(_ text: String?) -> [String] {
        guard let text, let data = text.data(using: .utf8),
            let names = try? JSONDecoder().decode([String].self, from: data)
        else { return [] }
        return names
    }

    /// The page for a challenge, from the fields that carry it from step to step.
    func challengeForm(_ fields: [String: String], _ login: Login) throws(PoolError) -> Pages.Page {
        guard let name = fields["challenge"], let session = fields["session"], let username = fields["username"]
        else { throw PoolError(.invalidParameter, "The sign-in step is missing.") }
        let challenge = ChallengeNameType(rawValue: name)
        guard Self.pageChallenges.contains(challenge) else {
            throw PoolError(.invalidParameter, "The sign-in step is not one these pages answer.")
        }
        var view = Pages.Page(
            title: "Sign in", heading: "Sign in to \(login.client.name)", appName: login.client.name,
            action: login.path(LoginPage.mfa.rawValue), csrf: login.csrf)
        view.hidden = [
            Pages.Hidden(name: "challenge", value: name), Pages.Hidden(name: "session", value: session),
            Pages.Hidden(name: "username", value: username),
        ]
        var code = Field(name: "code", label: "Code", autocomplete: "one-time-code", autofocus: true, numeric: true)
        switch challenge {
        case .newPasswordRequired:
            view.heading = "Change your password"
            view.message = "Your temporary password must be changed before you sign in."
            view.fields = [
                Field(
                    name: "password", label: "New password", type: "password", autocomplete: "new-password",
                    autofocus: true)
            ]
            view.submit = "Change password"
        case .softwareTokenMfa:
            code.label = "Code from your authenticator app"
            view.fields = [code]
            view.submit = "Sign in"
        case .mfaSetup:
            guard let secret = fields["secret"] else { throw PoolError(.invalidParameter, "The key is missing.") }
            view.heading = "Set up an authenticator app"
            view.message = "Add this key to an authenticator app, then enter the code it shows."
            view.secret = secret
            let issuer = Self.percentEncode(login.pool.name)
            view.secretLink =
                "otpauth://totp/\(issuer):\(Self.percentEncode(username))?secret=\(secret)&issuer=\(issuer)"
            view.hidden.append(Pages.Hidden(name: "secret", value: secret))
            code.label = "Code from your authenticator app"
            view.fields = [code]
            view.submit = "Verify and sign in"
        case .webAuthn:
            guard let options = fields["options"] else {
                throw PoolError(.invalidParameter, "The passkey step is missing.")
            }
            view.heading = "Sign in with a passkey"
            view.message = "Use the passkey saved on this device or your security key."
            view.passkeyOptions = options
            view.hidden += [Pages.Hidden(name: "credential", value: ""), Pages.Hidden(name: "options", value: options)]
            view.submit = nil
        case .selectMfaType:
            let names = (fields["choices"] ?? "").split(separator: " ").map(String.init)
            let labels = [
                "SOFTWARE_TOKEN_MFA": "An authenticator app", "SMS_MFA": "A text message", "EMAIL_OTP": "An email",
                "WEB_AUTHN": "A passkey",
            ]
            view.heading = "How do you want to get your code?"
            view.choiceLegend = "Second factor"
            view.choices = names.compactMap { name in
                labels[name].map { Pages.Choice(id: "answer-\(name)", name: "answer", value: name, label: $0) }
            }
            if !view.choices.isEmpty { view.choices[0].checked = true }
            view.hidden.append(Pages.Hidden(name: "choices", value: names.joined(separator: " ")))
            view.submit = "Continue"
        default:
            let destination = fields["destination"]
            view.message = destination.map { "Enter the code we sent to \($0)." } ?? "Enter the code we sent you."
            if let destination { view.hidden.append(Pages.Hidden(name: "destination", value: destination)) }
            view.fields = [code]
            view.submit = "Sign in"
        }
        return view
    }
}
