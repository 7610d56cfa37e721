import CognitoModel
import Foundation

/// SetUICustomization's record (classic hosted UI): a client's, or the pool's (`ALL`), CSS
/// and logo.
public struct UICustomization: Codable, Sendable, Equatable {
    public var clientId: String
    public var css: String?
    public var image: Data?
    /// `png` or `jpeg`.
    public var imageType: String?
    public var cssVersion: String
    public var createdAt: Int64
    public var modifiedAt: Int64

    public init(
        clientId: String, css: String?, image: Data?, imageType: String?, cssVersion: String, createdAt: Int64,
        modifiedAt: Int64
    ) {
        self.clientId = clientId
        self.css = css
        self.image = image
        self.imageType = imageType
        self.cssVersion = cssVersion
        self.createdAt = createdAt
        self.modifiedAt = modifiedAt
    }

    /// The logo as a `data:` URL the pages can show without another request.
    public var imageDataURL: String? {
        guard let image, let imageType else { return nil }
        return "data:image/\(imageType);base64,\(image.base64EncodedString())"
    }
}

public enum UICustomizationRules {
    /// The whole pool's customization, which a client without its own gets.
    public static let allClients = "ALL"
    /// The classes of Cognito's hosted UI that CSS may style, and nothing else.
    public static let classes: Set<String> = [
        ".background-customizable", ".banner-customizable", ".errorMessage-customizable",
        ".idpButton-customizable", ".idpButton-customizable:hover", ".idpDescription-customizable",
        ".inputField-customizable", ".inputField-customizable:focus", ".label-customizable",
        ".legalText-customizable", ".logo-customizable", ".passwordCheck-notValid-customizable",
        ".passwordCheck-valid-customizable", ".redirect-customizable", ".socialButton-customizable",
        ".submitButton-customizable", ".submitButton-customizable:hover", ".textDescription-customizable",
    ]
    public static let maxImageBytes = 100 * 1024

    /// CSS as Cognito takes it: rules on its classes only, plain declarations (no at-rules,
    /// no `url(…)`, no escapes, no markup), so it can go into a page's `<style>` as is.
    public static func checkCSS(_ css: String) throws(PoolError) {
        func refuse(_ why: String) -> PoolError { PoolError(.invalidParameter, "CSS is not valid: \(why)") }
        let lowered = css.lowercased()
        for banned in ["<", ">", "@", "\\", "url(", "expression(", "/*", "javascript:", "behavior"]
        where lowered.contains(banned) {
            throw refuse("\(banned) is not allowed")
        }
        var rest = Substring(css)
        while let open = rest.firstIndex(of: "{") {
            let selectors = rest[..<open].split(separator: ",").map {
                $0.trimmingCharacters(in: .whitespacesAndNewlines)
            }
            for selector in selectors where !classes.contains(selector) {
                throw refuse(
                    "\(selector.isEmpty ? "an empty selector" : selector) is not one of the customizable classes")
            }
            guard let close = rest[open...].firstIndex(of: "}") else { throw refuse("a rule is not closed") }
            let body = rest[rest.index(after: open)..<close]
            guard !body.contains("{") else { throw refuse("rules cannot nest") }
            for declaration in body.split(separator: ";") {
                let trimmed = declaration.trimmingCharacters(in: .whitespacesAndNewlines)
                if trimmed.isEmpty { continue }
                let parts = trimmed.split(separator: ":", maxSplits: 1)
                guard parts.count == 2,
                    parts[0].trimmingCharacters(in: .whitespaces).allSatisfy({ $0.isLetter || $0 == "-" }),
                    !parts[1].trimmingCharacters(in: .whitespaces).isEmpty
                else { throw refuse("\(trimmed) is not a declaration") }
            }
            rest = rest[rest.index(after: close)...]
        }
        guard rest.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { throw refuse("text outside a rule") }
    }

    /// A logo: PNG or JPEG (by its magic bytes), at most 100 KiB. Its type.
    public static func checkImage(_ bytes: [UInt8]) throws(PoolError) -> String {
        guard bytes.count <= maxImageBytes else {
            throw PoolError(.invalidParameter, "The image is larger than \(maxImageBytes) bytes.")
        }
        if bytes.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) { return "png" }
        if bytes.starts(with: [0xFF, 0xD8, 0xFF]) { return "jpeg" }
        throw PoolError(.invalidParameter, "The image must be a PNG or a JPEG.")
    }
}

/// CreateTerms' record: links to a client's terms of use or privacy policy, shown on the
/// sign-up page.
public struct TermsRecord: Codable, Sendable, Equatable {
    public var id: String
    public var clientId: String
    public var name: String
    public var source: String
    public var enforcement: String
    public var links: [String: String]
    public var createdAt: Int64
    public var modifiedAt: Int64

    public init(
        id: String, clientId: String, name: String, source: String, enforcement: String, links: [String: String],
        createdAt: Int64, modifiedAt: Int64
    ) {
        self.id = id
        self.clientId = clientId
        self.name = name
        self.source = source
        self.enforcement = enforcement
        self.links = links
        self.createdAt = createdAt
        self.modifiedAt = modifiedAt
    }

    /// The document id: one of each name per client.
    public static func documentId(clientId: String, name: String) -> String { "\(clientId)/\(name)" }

    /// The link a page shows: English, else the default, else any.
    public var link: String? { links["cognito:english"] ?? links["cognito:default"] ?? links.values.sorted().first }

    /// Links must be HTTPS (HTTP only on this machine), as callback URLs are.
    public static func checkLinks(_ links: [String: String]) throws(PoolError) {
        for url in links.values
        where !(AuthorizeRules.validURL(url) && (url.hasPrefix("https://") || url.hasPrefix("http://"))) {
            throw PoolError(.invalidParameter, "The link \(url) is not an absolute HTTPS URL.")
        }
    }
}

/// Managed login branding (version 2 pages): a client's settings document and assets. The
/// assets are kept in a companion document (`brandingAssets`) so that reading a branding
/// does not read its images.
public struct BrandingRecord: Codable, Sendable, Equatable {
    public var id: String
    public var clientId: String
    public var useCognitoProvidedValues: Bool
    public var settings: JSONValue?
    public var createdAt: Int64
    public var modifiedAt: Int64

    public init(
        id: String, clientId: String, useCognitoProvidedValues: Bool, settings: JSONValue?, createdAt: Int64,
        modifiedAt: Int64
    ) {
        self.id = id
        self.clientId = clientId
        self.useCognitoProvidedValues = useCognitoProvidedValues
        self.settings = settings
        self.createdAt = createdAt
        self.modifiedAt = modifiedAt
    }
}

public struct BrandingAssets: Codable, Sendable, Equatable {
    public var assets: [AssetType]

    public init(assets: [AssetType]) { self.assets = assets }

    /// The form's logo as a `data:` URL (light mode first), for the pages.
    public var formLogoDataURL: String? {
        let logos = assets.filter { $0.category == .formLogo && $0.bytes != nil }
        guard let logo = logos.first(where: { $0.colorMode == .light }) ?? logos.first, let bytes = logo.bytes?.bytes
        else { return nil }
        let type: String
        switch logo.extension {
        case .png: type = "png"
        case .jpeg: type = "jpeg"
        case .svg: type = "svg+xml"
        case .webp: type = "webp"
        case .ico: type = "x-icon"
        default: return nil
        }
        return "data:image/\(type);base64,\(Data(bytes).base64EncodedString())"
    }
}

public enum BrandingRules {
    /// UseCognitoProvidedValues and Settings or Assets exclude each other, as in Cognito.
    public static func check(
        useCognitoProvidedValues: Bool?, settings: JSONValue?, assets: [AssetType]?
    )
        throws(PoolError)
    {
        if useCognitoProvidedValues == true && (settings != nil || !(assets ?? []).isEmpty) {
            throw PoolError(
                .invalidParameter, "UseCognitoProvidedValues cannot be true with Settings or Assets.")
        }
        var seen = Set<String>()
        for asset in assets ?? [] {
            let key = "\(asset.category)/\(asset.colorMode)"
            guard seen.insert(key).inserted else {
                throw PoolError(.invalidParameter, "Assets has \(key) twice.")
            }
            guard asset.bytes != nil || asset.resourceId != nil else {
                throw PoolError(.invalidParameter, "An asset needs Bytes or a ResourceId.")
            }
        }
        let total = (assets ?? []).reduce(0) { $0 + ($1.bytes?.bytes.count ?? 0) }
        guard total <= 900_000 else {
            throw PoolError(.invalidParameter, "The assets add up to more than 900000 bytes.")
        }
    }
}
