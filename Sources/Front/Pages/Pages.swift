import Foundation
import Mustache

/// The managed login's pages: templates in `Templates/` (shipped beside the binary as
/// `cognate_Front.resources`), rendered from a `Page`. Every value is HTML-escaped by the
/// template; nothing a user typed reaches a page unescaped.
enum Pages {
    /// A form field.
    struct Field {
        var name: String
        var label: String
        var type = "text"
        var autocomplete: String
        var value = ""
        var required = true
        var autofocus = false
        var numeric = false
    }

    struct Hidden {
        var name: String
        var value: String
    }

    /// One option of a radio group.
    struct Choice {
        var id: String
        var name: String
        var value: String
        var label: String
        var checked = false
    }

    struct Link {
        var id: String
        var href: String
        var text: String
    }

    /// One page: a form (`fields`, posted to `action`) or a message.
    struct Page {
        var title: String
        var heading: String
        var appName = ""
        var logo: String?
        /// The pool's or client's CSS (UICustomizationRules.checkCSS: no markup can be in it).
        var css: String?
        var error: String?
        var notice: String?
        var message: String?
        var action = ""
        var csrf = ""
        var hidden: [Hidden] = []
        var fields: [Field] = []
        /// A radio group (`choiceLegend` names it), before the fields.
        var choices: [Choice] = []
        var choiceLegend = ""
        var hasChoices = false
        /// A key to show the user (an authenticator's secret), with a link for apps.
        var secret: String?
        var secretLink: String?
        /// The submit button's text; nil for none (the passkey page's button runs a script).
        var submit: String? = "Continue"
        /// A second submit button (`method=<altValue>`), e.g. sign in with a passkey.
        var altSubmit: String?
        var altValue = ""
        /// WebAuthn's request options (JSON) for the passkey page's script, and the nonce the
        /// Content-Security-Policy lets that script run with.
        var passkeyOptions: String?
        var nonce = ""
        var links: [Link] = []
        /// Legal links (terms of use, privacy policy) under a form.
        var legal: [Link] = []
        var hasLegal = false
        /// Set by `render` (templates see stored properties only).
        var hasLinks = false
    }

    /// The templates, loaded once; nil (and every page a plain-text 500) when the resources
    /// are not beside the binary.
    static let library: MustacheLibrary? = {
        var candidates: [URL] = []
        if let dir = ProcessInfo.processInfo.environment["COGNATE_PAGES"] {
            candidates.append(URL(fileURLWithPath: dir))
        }
        if let exe = Bundle.main.executableURL?.resolvingSymlinksInPath().deletingLastPathComponent() {
            candidates.append(exe.appendingPathComponent("cognate_Front.resources/Templates"))
        }
        for dir in candidates {
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: dir.path) else { continue }
            var library = MustacheLibrary()
            for name in names where name.hasSuffix(".mustache") {
                guard let text = try? String(contentsOf: dir.appendingPathComponent(name), encoding: .utf8),
                    (try? library.register(text, named: String(name.dropLast(".mustache".count)))) != nil
                else { return nil }
            }
            return library
        }
        return nil
    }()

    /// The page as HTML, or nil when the templates are missing.
    static func render(_ page: Page) -> String? {
        var page = page
        page.hasLinks = !page.links.isEmpty
        page.hasLegal = !page.legal.isEmpty
        page.hasChoices = !page.choices.isEmpty
        return library?.render(page, withTemplate: page.action.isEmpty ? "message" : "form")
    }
}
