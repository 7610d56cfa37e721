import AuthCrypto
import Crypto
import Foundation

/// Verifies AWS Signature Version 4 on a request, as botocore and the AWS CLI sign it.
public struct SigV4Verifier: Sendable {
    public struct Failure: Error, CustomStringConvertible {
        public var code: String
        public var message: String
        public var description: String { "\(code): \(message)" }
    }

    /// Access key id → secret.
    let keys: [String: String]
    /// How far X-Amz-Date may be from the server clock.
    let skew: Int64
    /// The region a credential's scope must name (this front's `--region`).
    let region: String
    static let service = "cognito-idp"

    public init(keys: [String: String], region: String, skewSeconds: Int64 = 900) {
        self.keys = keys
        self.region = region
        self.skew = skewSeconds
    }

    /// Parses `id:secret,id:secret`.
    public static func parseKeys(_ text: String) -> [String: String] {
        var out: [String: String] = [:]
        for pair in text.split(separator: ",") {
            let parts = pair.split(separator: ":", maxSplits: 1)
            guard parts.count == 2 else { continue }
            out[parts[0].trimmingCharacters(in: .whitespaces)] = parts[1].trimmingCharacters(in: .whitespaces)
        }
        return out
    }

    /// Checks the Authorization header against the request; returns the access key id.
    /// `headers` are lowercased names to values; `now` is Unix seconds.
    public func verify(
        method: String, path: String, query: String, headers: [String: String], body: [UInt8], now: Int64
    ) throws(Failure) -> String {
        func fail(_ code: String, _ message: String) -> Failure { Failure(code: code, message: message) }
        guard let auth = headers["authorization"] else {
            throw fail("MissingAuthenticationTokenException", "Missing Authentication Token")
        }
        guard auth.hasPrefix("AWS4-HMAC-SHA256 ") else {
            throw fail("IncompleteSignatureException", "Unsupported authorization scheme; expected AWS4-HMAC-SHA256")
        }
        var fields: [String: String] = [:]
        for part in auth.dropFirst("AWS4-HMAC-SHA256 ".count).split(separator: ",") {
            let kv = part.trimmingCharacters(in: .whitespaces).split(separator: "=", maxSplits: 1)
            if kv.count == 2 { fields[String(kv[0])] = String(kv[1]) }
        }
        guard let credential = fields["Credential"], let signedHeaders = fields["SignedHeaders"],
            let signature = fields["Signature"]
        else {
            throw fail(
                "IncompleteSignatureException", "Authorization header requires Credential, SignedHeaders and Signature")
        }
        let scope = credential.split(separator: "/").map(String.init)
        guard scope.count == 5, scope[4] == "aws4_request" else {
            throw fail(
                "IncompleteSignatureException", "Credential must be <key>/<date>/<region>/<service>/aws4_request")
        }
        guard scope[2] == region else {
            throw fail("InvalidSignatureException", "Credential should be scoped to a valid region. ")
        }
        guard scope[3] == Self.service else {
            throw fail(
                "InvalidSignatureException", "Credential should be scoped to correct service: '\(Self.service)'. ")
        }
        guard let secret = keys[scope[0]] else {
            throw fail("UnrecognizedClientException", "The security token included in the request is invalid.")
        }
        guard let amzDate = headers["x-amz-date"], let signedAt = Self.parseAmzDate(amzDate) else {
            throw fail("IncompleteSignatureException", "X-Amz-Date header is missing or malformed")
        }
        guard abs(signedAt - now) <= skew else {
            throw fail(
                "InvalidSignatureException",
                "Signature expired: \(amzDate) is more than \(skew / 60) minutes from the server time")
        }
        guard amzDate.hasPrefix(scope[1]) else {
            throw fail("InvalidSignatureException", "Credential date does not match X-Amz-Date")
        }

        let names = signedHeaders.split(separator: ";").map(String.init)
        guard names.contains("host") else { throw fail("InvalidSignatureException", "The host header must be signed") }
        var canonicalHeaders = ""
        for name in names {
            guard let value = headers[name] else {
                throw fail("InvalidSignatureException", "Signed header \(name) is missing")
            }
            let squeezed = value.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
            canonicalHeaders += "\(name):\(squeezed.trimmingCharacters(in: .whitespaces))\n"
        }
        let canonicalRequest = [
            method, path.isEmpty ? "/" : path, Self.canonicalQuery(query), canonicalHeaders, signedHeaders,
            Self.hex(SHA256.hash(data: body)),
        ].joined(separator: "\n")
        let stringToSign = [
            "AWS4-HMAC-SHA256", amzDate, scope[1...4].joined(separator: "/"),
            Self.hex(SHA256.hash(data: Array(canonicalRequest.utf8))),
        ].joined(separator: "\n")
        var key = SymmetricKey(data: Array("AWS4\(secret)".utf8))
        for part in scope[1...4] {
            key = SymmetricKey(data: Array(HMAC<SHA256>.authenticationCode(for: Array(part.utf8), using: key)))
        }
        let expected = Self.hex(HMAC<SHA256>.authenticationCode(for: Array(stringToSign.utf8), using: key))
        guard constantTimeEqual(Array(expected.utf8), Array(signature.utf8)) else {
            throw fail(
                "InvalidSignatureException",
                "The request signature we calculated does not match the signature you provided. "
                    + "Check your AWS Secret Access Key and signing method.")
        }
        return scope[0]
    }

    static func hex<D: Sequence>(_ digest: D) -> String where D.Element == UInt8 {
        digest.map { String(format: "%02x", $0) }.joined()
    }

    static func canonicalQuery(_ query: String) -> String {
        query.split(separator: "&").map(String.init).sorted().joined(separator: "&")
    }

    /// `yyyyMMddTHHmmssZ` → Unix seconds.
    static func parseAmzDate(_ s: String) -> Int64? {
        let c = Array(s.utf8)
        guard c.count == 16, c[8] == UInt8(ascii: "T"), c[15] == UInt8(ascii: "Z") else { return nil }
        func n(_ r: Range<Int>) -> Int? { Int(String(decoding: c[r], as: UTF8.self)) }
        guard let y = n(0..<4), let mo = n(4..<6), let d = n(6..<8), let h = n(9..<11), let mi = n(11..<13),
            let se = n(13..<15), (1...12).contains(mo), (1...31).contains(d), h < 24, mi < 60, se < 61
        else { return nil }
        var comps = DateComponents(year: y, month: mo, day: d, hour: h, minute: mi, second: se)
        comps.timeZone = TimeZone(identifier: "UTC")
        var cal = Calendar(identifier: .gregorian)
        cal.timeZone = TimeZone(identifier: "UTC")!
        return cal.date(from: comps).map { Int64($0.timeIntervalSince1970) }
    }
}
