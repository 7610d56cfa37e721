import Foundation

/// A pool's setting that is kept beside the pool record, not in it, on the meta shard:
/// large or numerous ones (a client's UI customization with its logo, managed login
/// branding with its assets, terms documents). `body` is the kind's own record, as JSON.
public struct PoolDocument: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable, CaseIterable {
        case uiCustomization = "ui"
        case branding
        /// A branding's assets, beside it (a branding is read often; its images seldom).
        case brandingAssets = "assets"
        case terms
    }

    /// A document's kind and id.
    public struct Ref: Codable, Sendable, Equatable {
        public var kind: Kind
        public var id: String

        public init(_ kind: Kind, _ id: String) {
            self.kind = kind
            self.id = id
        }
    }

    /// What a write of a document may do.
    public enum Put: String, Codable, Sendable {
        /// Refused if a document of that kind and id exists (or the pool has its most).
        case create
        /// Refused if none exists.
        case update
        /// Either.
        case upsert
    }

    public var poolId: String
    public var kind: Kind
    public var id: String
    public var body: Data

    public init(poolId: String, kind: Kind, id: String, body: Data) {
        self.poolId = poolId
        self.kind = kind
        self.id = id
        self.body = body
    }

    public init<Record: Encodable>(poolId: String, kind: Kind, id: String, record: Record) throws(PoolError) {
        do {
            self.init(poolId: poolId, kind: kind, id: id, body: try JSONEncoder().encode(record))
        } catch {
            throw PoolError(.internalError, "a \(kind.rawValue) document did not encode")
        }
    }

    public func record<Record: Decodable>(_ type: Record.Type) throws(PoolError) -> Record {
        do {
            return try JSONDecoder().decode(type, from: body)
        } catch {
            throw PoolError(.internalError, "a stored \(kind.rawValue) document did not decode")
        }
    }

    /// The largest body a document may have (an API request is at most 1 MiB).
    public static let maxBytes = 1_500_000

    /// Documents of a kind a pool may have: one per client (and one for the whole pool).
    public static func maxPerPool(_ kind: Kind) -> Int {
        switch kind {
        case .uiCustomization, .branding, .brandingAssets: 1_001
        // Two per client: terms of use and a privacy policy.
        case .terms: 2_000
        }
    }

    public static func exists(_ kind: Kind, _ id: String) -> PoolError {
        switch kind {
        case .branding, .brandingAssets:
            PoolError(.managedLoginBrandingExists, "The app client \(id) has managed login branding already.")
        case .terms: PoolError(.termsExists, "Terms with that name exist for the app client already.")
        case .uiCustomization: PoolError(.invalidParameter, "A UI customization exists for \(id) already.")
        }
    }

    public static func notFound(_ kind: Kind, _ id: String) -> PoolError {
        switch kind {
        case .uiCustomization: PoolError(.resourceNotFound, "No UI customization for \(id).")
        case .branding, .brandingAssets:
            PoolError(.resourceNotFound, "Managed login branding \(id) does not exist.")
        case .terms: PoolError(.resourceNotFound, "Terms \(id) do not exist.")
        }
    }
}
