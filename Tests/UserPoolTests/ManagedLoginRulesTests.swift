import CognitoModel
import Testing

@testable import UserPool

@Suite("UI customization, terms and branding: what Cognito takes")
struct ManagedLoginRulesTests {
    @Test("CSS: Cognito's classes and plain declarations only; nothing that could leave the style element")
    func css() {
        let good = [
            ".submitButton-customizable { background-color: red; }",
            ".label-customizable, .inputField-customizable:focus { color: #333; border-width: 2px }",
            "",
        ]
        for css in good { #expect(throws: Never.self, "\(css)") { try UICustomizationRules.checkCSS(css) } }
        let bad = [
            "body { color: red }", ".label-customizable { color: red } </style>", "@import 'x';",
            ".label-customizable { background: url(x) }", ".label-customizable { color: red",
            ".label-customizable { a { b } }", "stray .label-customizable { color: red }",
            ".label-customizable { color }", ".label-customizable { co\\lor: red }",
        ]
        for css in bad { #expect(throws: PoolError.self, "\(css)") { try UICustomizationRules.checkCSS(css) } }
    }

    @Test("logos: PNG or JPEG by their magic bytes, at most 100 KiB")
    func images() throws {
        #expect(try UICustomizationRules.checkImage([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0]) == "png")
        #expect(try UICustomizationRules.checkImage([0xFF, 0xD8, 0xFF, 0xE0]) == "jpeg")
        #expect(throws: PoolError.self) { try UICustomizationRules.checkImage(Array("GIF89a".utf8)) }
        #expect(throws: PoolError.self) {
            try UICustomizationRules.checkImage([0xFF, 0xD8, 0xFF] + Array(repeating: 0, count: 100 * 1024))
        }
    }

    @Test("terms links: HTTPS, or HTTP on this machine")
    func links() {
        #expect(throws: Never.self) { try TermsRecord.checkLinks(["cognito:default": "https://a.example/t"]) }
        #expect(throws: Never.self) { try TermsRecord.checkLinks(["cognito:default": "http://localhost:3000/t"]) }
        #expect(throws: PoolError.self) { try TermsRecord.checkLinks(["cognito:default": "http://a.example/t"]) }
        #expect(throws: PoolError.self) { try TermsRecord.checkLinks(["cognito:default": "javascript:alert(1)"]) }
    }

    @Test("branding: Cognito's values exclude settings and assets; one asset per category and mode")
    func branding() {
        let logo = AssetType(category: .formLogo, colorMode: .light, extension: .png, bytes: Blob([1]))
        #expect(throws: PoolError.self) {
            try BrandingRules.check(useCognitoProvidedValues: true, settings: .object([:]), assets: nil)
        }
        #expect(throws: PoolError.self) {
            try BrandingRules.check(useCognitoProvidedValues: nil, settings: nil, assets: [logo, logo])
        }
        #expect(throws: Never.self) {
            try BrandingRules.check(useCognitoProvidedValues: false, settings: nil, assets: [logo])
        }
        #expect(BrandingAssets(assets: [logo]).formLogoDataURL == "data:image/png;base64,AQ==")
    }
}
