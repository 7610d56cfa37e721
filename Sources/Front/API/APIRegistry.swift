import CognitoModel
import Foundation
import UserPool

/// One table from operation to handler, built from typed handlers: each route decodes its
/// input shape, checks it against the model's constraints (refusing it in Cognito's words),
/// runs the handler and encodes its output shape.
struct APIRegistry: Sendable {
    typealias Run = @Sendable (API, [UInt8]) async throws -> [UInt8]

    enum Lookup {
        case route(CognitoOperation, Run)
        /// In the model, not built yet.
        case unsupported(CognitoOperation)
        /// Not an operation of the model.
        case unknown
    }

    private var routes: [CognitoOperation: Run] = [:]

    /// `exempt`: failures the service does not hold against a request though the model
    /// states them (a custom domain's name is not of the prefix pattern the model gives).
    mutating func on<Op: CognitoOperationType>(
        _: Op.Type, exempt: @escaping @Sendable (ValidationFailure) -> Bool = { _ in false },
        _ handler: @escaping @Sendable (API) -> (Op.Input) async throws -> Op.Output
    ) {
        routes[Op.operation] = { api, body in
            let input: Op.Input = try APICoding.decode(body)
            let failures = input.validationFailures().filter { !exempt($0) }
            guard failures.isEmpty else { throw PoolError(.invalidParameter, ValidationFailure.message(failures)) }
            return try APICoding.encode(try await handler(api)(input))
        }
    }

    func lookup(_ name: String) -> Lookup {
        guard let operation = CognitoOperation(rawValue: name) else { return .unknown }
        guard let run = routes[operation] else { return .unsupported(operation) }
        return .route(operation, run)
    }

    var implemented: [CognitoOperation] { Array(routes.keys) }
}

/// Cognito's JSON 1.1: timestamps as seconds since 1970.
enum APICoding {
    static let decoder: JSONDecoder = {
        let d = JSONDecoder()
        d.dateDecodingStrategy = .secondsSince1970
        return d
    }()

    static let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.dateEncodingStrategy = .secondsSince1970
        return e
    }()

    static func decode<T: Decodable>(_ body: [UInt8]) throws(PoolError) -> T {
        do {
            return try decoder.decode(T.self, from: body.isEmpty ? Data("{}".utf8) : Data(body))
        } catch let error as DecodingError {
            throw PoolError(.serialization, Self.describe(error))
        } catch {
            throw PoolError(.serialization, "the request body is not valid JSON")
        }
    }

    static func encode<T: Encodable>(_ value: T) throws -> [UInt8] { Array(try encoder.encode(value)) }

    /// Where a body's JSON did not fit the operation's shape.
    static func describe(_ error: DecodingError) -> String {
        func path(_ context: DecodingError.Context) -> String {
            let names = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }
            return names.isEmpty ? "the request body" : names.joined(separator: ".")
        }
        switch error {
        case .typeMismatch(_, let c), .valueNotFound(_, let c): return "Unexpected value type at \(path(c))"
        case .dataCorrupted(let c):
            return c.codingPath.isEmpty ? "the request body is not valid JSON" : "Invalid value at \(path(c))"
        case .keyNotFound(let key, _): return "Missing \(key.stringValue)"
        @unknown default: return "the request body does not match the operation"
        }
    }
}
