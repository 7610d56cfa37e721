import AuthCrypto
import CognitoModel
import Crypto
import Foundation
import NIOHTTP1

/// A minimal Cognito API client for the load tools: JSON 1.1 over HTTP/1.1 with kept-alive
/// connections, SigV4 for admin calls. Works against any Cognito-compatible endpoint.
public final class CognitoHTTPClient: Sendable {
    public struct CallError: Error, CustomStringConvertible {
        public var type: String
        public var message: String
        /// The HTTP status (0: no answer arrived, the request may or may not have been processed).
        public var status: Int = 0
        public var description: String { "\(type): \(message)" }
        /// A 4xx answer: the request was refused and changed nothing.
        public var isDefinite: Bool { (400..<500).contains(status) }
    }

    let endpoint: URL
    let path: String
    let region: String
    let accessKey: String
    let secretKey: String
    let pool: HTTPConnectionPool

    public init(endpoint: String, region: String, accessKey: String, secretKey: String, timeout: Double = 30) throws {
        guard let url = URL(string: endpoint), let host = url.host, url.scheme == "http" else {
            throw CallError(
                type: "InvalidEndpoint",
                message: "not an http:// URL: \(endpoint) (https is not supported by the load tools; "
                    + "put them next to the TLS terminator)")
        }
        self.endpoint = url
        path = url.path.isEmpty ? "/" : url.path
        self.region = region
        self.accessKey = accessKey
        self.secretKey = secretKey
        pool = HTTPConnectionPool(host: host, port: url.port ?? 80, timeoutSeconds: timeout)
    }

    deinit { pool.close() }

    /// Calls `Op` with `input`, SigV4-signed when the model says the operation is.
    public func call<Op: CognitoOperationType>(_: Op.Type, _ input: Op.Input) async throws -> Op.Output {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .secondsSince1970
        let data = try Array(encoder.encode(input))
        let target = "AWSCognitoIdentityProviderService.\(Op.operation.rawValue)"
        var headers = [("Content-Type", "application/x-amz-json-1.1"), ("X-Amz-Target", target)]
        if Op.operation.requiresSigV4 { headers += sign(target: target, body: data) }
        let response: HTTPConnectionPool.Response
        do {
            response = try await pool.send(path: path, headers: headers, body: data)
        } catch {
            throw CallError(type: "NoAnswer", message: "\(error)", status: 0)
        }
        guard response.status == 200 else {
            let wire = try? JSONDecoder().decode(WireError.self, from: Data(response.body))
            let type = wire?.type.map { $0.split(separator: "#").last.map(String.init) ?? $0 }
            throw CallError(
                type: type ?? "HTTP\(response.status)", message: wire?.message ?? "", status: response.status)
        }
        do {
            let decoder = JSONDecoder()
            decoder.dateDecodingStrategy = .secondsSince1970
            return try decoder.decode(Op.Output.self, from: Data(response.body))
        } catch {
            throw CallError(type: "BadAnswer", message: "\(Op.operation.rawValue): \(error)", status: response.status)
        }
    }

    /// An error answer: `{"__type": …, "message": …}` (some services say `Message`).
    struct WireError: Decodable {
        var type: String?
        var message: String?

        enum CodingKeys: String, CodingKey {
            case type = "__type"
            case message
            case capitalMessage = "Message"
        }

        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            type = try c.decodeIfPresent(String.self, forKey: .type)
            message =
                try c.decodeIfPresent(String.self, forKey: .message)
                ?? c.decodeIfPresent(String.self, forKey: .capitalMessage)
        }
    }

    /// The endpoint's `process_cpu_seconds_total` from `GET /metrics` (Cognate fronts export
    /// it), or nil where there is no such metric.
    public func processCPUSeconds() async -> Double? {
        let metrics = endpoint.path.isEmpty || endpoint.path == "/" ? "/metrics" : path + "/metrics"
        guard let response = try? await pool.send(.GET, path: metrics), response.status == 200 else { return nil }
        let lines = String(decoding: response.body, as: UTF8.self).split(separator: "\n")
        for line in lines where line.hasPrefix("process_cpu_seconds_total") {
            guard let value = line.split(separator: " ").last.flatMap({ Double($0) }) else { continue }
            return value
        }
        return nil
    }

    /// AWS Signature Version 4 over host, content-type, x-amz-date and x-amz-target: the
    /// X-Amz-Date and Authorization headers to add.
    func sign(target: String, body: [UInt8]) -> [(String, String)] {
        let fmt = DateFormatter()
        fmt.locale = Locale(identifier: "en_US_POSIX")
        fmt.timeZone = TimeZone(identifier: "UTC")
        fmt.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        let amzDate = fmt.string(from: Date())
        let date = String(amzDate.prefix(8))
        let headers: [(String, String)] = [
            ("content-type", "application/x-amz-json-1.1"), ("host", pool.hostHeader), ("x-amz-date", amzDate),
            ("x-amz-target", target),
        ]
        let signedHeaders = headers.map(\.0).joined(separator: ";")
        let canonical = [
            "POST", path, "", headers.map { "\($0.0):\($0.1)\n" }.joined(), signedHeaders,
            hex(SHA256.hash(data: body)),
        ].joined(separator: "\n")
        let scope = "\(date)/\(region)/cognito-idp/aws4_request"
        let toSign = ["AWS4-HMAC-SHA256", amzDate, scope, hex(SHA256.hash(data: Array(canonical.utf8)))]
            .joined(separator: "\n")
        var key = SymmetricKey(data: Array("AWS4\(secretKey)".utf8))
        for part in [date, region, "cognito-idp", "aws4_request"] {
            key = SymmetricKey(data: Array(HMAC<SHA256>.authenticationCode(for: Array(part.utf8), using: key)))
        }
        let signature = hex(HMAC<SHA256>.authenticationCode(for: Array(toSign.utf8), using: key))
        let authorization =
            "AWS4-HMAC-SHA256 Credential=\(accessKey)/\(scope), SignedHeaders=\(signedHeaders), Signature=\(signature)"
        return [("X-Amz-Date", amzDate), ("Authorization", authorization)]
    }

    func hex<D: Sequence>(_ d: D) -> String where D.Element == UInt8 { d.map { String(format: "%02x", $0) }.joined() }
}
