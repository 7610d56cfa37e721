import Crypto
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A minimal Cognito API client for the load tools: JSON 1.1 over HTTP, SigV4 for admin
/// calls. Works against any Cognito-compatible endpoint.
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
    let region: String
    let accessKey: String
    let secretKey: String
    let session: URLSession

    public init(endpoint: String, region: String, accessKey: String, secretKey: String, timeout: Double = 30) throws {
        guard let url = URL(string: endpoint), url.host != nil else { throw CallError(type: "InvalidEndpoint", message: "not a URL: \(endpoint)") }
        self.endpoint = url
        self.region = region
        self.accessKey = accessKey
        self.secretKey = secretKey
        let config = URLSessionConfiguration.ephemeral
        config.httpMaximumConnectionsPerHost = 512
        config.timeoutIntervalForRequest = timeout
        session = URLSession(configuration: config)
    }

    public func call(_ operation: String, _ body: [String: Any], signed: Bool = false) async throws -> [String: Any] {
        let data = try JSONSerialization.data(withJSONObject: body)
        var request = URLRequest(url: endpoint)
        request.httpMethod = "POST"
        request.httpBody = data
        request.setValue("application/x-amz-json-1.1", forHTTPHeaderField: "Content-Type")
        request.setValue("AWSCognitoIdentityProviderService.\(operation)", forHTTPHeaderField: "X-Amz-Target")
        if signed { sign(&request, body: Array(data)) }
        let (responseData, response): (Data, URLResponse)
        do {
            (responseData, response) = try await session.data(for: request)
        } catch {
            throw CallError(type: "NoAnswer", message: "\(error)", status: 0)
        }
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        let object = (try? JSONSerialization.jsonObject(with: responseData)) as? [String: Any] ?? [:]
        guard status == 200 else {
            let type = (object["__type"] as? String).map { $0.split(separator: "#").last.map(String.init) ?? $0 } ?? "HTTP\(status)"
            throw CallError(type: type, message: object["message"] as? String ?? object["Message"] as? String ?? "", status: status)
        }
        return object
    }

    /// AWS Signature Version 4 over host, content-type, x-amz-date and x-amz-target.
    func sign(_ request: inout URLRequest, body: [UInt8]) {
        let now = Date()
        let fmt = DateFormatter()
        fmt.locale = Locale(identifier: "en_US_POSIX")
        fmt.timeZone = TimeZone(identifier: "UTC")
        fmt.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        let amzDate = fmt.string(from: now)
        let date = String(amzDate.prefix(8))
        request.setValue(amzDate, forHTTPHeaderField: "X-Amz-Date")
        var host = endpoint.host ?? ""
        if let port = endpoint.port { host += ":\(port)" }
        let headers: [(String, String)] = [
            ("content-type", "application/x-amz-json-1.1"), ("host", host), ("x-amz-date", amzDate),
            ("x-amz-target", request.value(forHTTPHeaderField: "X-Amz-Target") ?? ""),
        ]
        let signedHeaders = headers.map(\.0).joined(separator: ";")
        let canonical = ["POST", endpoint.path.isEmpty ? "/" : endpoint.path, "", headers.map { "\($0.0):\($0.1)\n" }.joined(), signedHeaders,
                         hex(SHA256.hash(data: body))].joined(separator: "\n")
        let scope = "\(date)/\(region)/cognito-idp/aws4_request"
        let toSign = ["AWS4-HMAC-SHA256", amzDate, scope, hex(SHA256.hash(data: Array(canonical.utf8)))].joined(separator: "\n")
        var key = SymmetricKey(data: Array("AWS4\(secretKey)".utf8))
        for part in [date, region, "cognito-idp", "aws4_request"] {
            key = SymmetricKey(data: Array(HMAC<SHA256>.authenticationCode(for: Array(part.utf8), using: key)))
        }
        let signature = hex(HMAC<SHA256>.authenticationCode(for: Array(toSign.utf8), using: key))
        request.setValue("AWS4-HMAC-SHA256 Credential=\(accessKey)/\(scope), SignedHeaders=\(signedHeaders), Signature=\(signature)", forHTTPHeaderField: "Authorization")
    }

    func hex<D: Sequence>(_ d: D) -> String where D.Element == UInt8 { d.map { String(format: "%02x", $0) }.joined() }
}
