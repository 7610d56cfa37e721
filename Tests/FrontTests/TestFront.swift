import AuthCrypto
import CognitoModel
import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NodeRPC
import Prometheus
import Testing
import UserPool

@testable import Front

/// A clock a test moves by hand.
final class TestClock: @unchecked Sendable {
    private let lock = NSLock()
    private var seconds = 1_800_000_000.0
    var now: Double { lock.withLock { seconds } }
    func advance(_ by: Double) { lock.withLock { seconds += by } }
}

/// An error answer, as the wire carries it.
struct APIFailure: Error, Equatable, CustomStringConvertible {
    var type: String
    var message: String
    var status: Int
    var description: String { "\(status) \(type): \(message)" }
}

/// The whole front in this process: the real router, API and store over `LocalShards`,
/// driven through HummingbirdTesting with bodies in Cognito's JSON and SigV4 where the model
/// signs an operation.
struct TestFront {
    static let accessKey = "test-key"
    static let secretKey = "test-secret"
    static let region = "us-east-1"
    static let userShards = 3

    let shards: LocalShards
    let clock: TestClock
    let api: API
    let server: FrontServer

    /// `poolCacheSeconds`: how long the store keeps a pool (a test that counts reads keeps it
    /// for the whole test, so a busy machine's slow calls never see it expire midway).
    init(
        lockoutBase: Int64 = 1, devInbox: Bool = false, outboxSealer: DeliverySealer? = nil,
        poolCacheSeconds: Double = 5
    ) throws {
        shards = try LocalShards()
        let clock = TestClock()
        self.clock = clock
        var rng = SystemRandomNumberGenerator()
        let auth = AuthContext(masterKeys: MasterKeys.generate(using: &rng), publicURL: "http://localhost")
        let store = PoolStore(
            client: shards, userShards: Self.userShards, cacheSeconds: poolCacheSeconds, outboxSealer: outboxSealer)
        api = API(store: store, region: Self.region, auth: auth, lockoutBase: lockoutBase, clock: { clock.now })
        server = FrontServer(
            api: api, verifier: SigV4Verifier(keys: [Self.accessKey: Self.secretKey], region: Self.region),
            registry: PrometheusCollectorRegistry(), logger: Logger(label: "front-tests"), devInbox: devInbox,
            hosts: FrontServer.Hosts(listen: try HostPort("127.0.0.1:9229"), publicURL: "http://127.0.0.1:9229"))
    }

    /// What waits in every user shard's outbox.
    func outbox() async throws -> [OutboxEntry] {
        var all: [OutboxEntry] = []
        for shard in 1...UInt32(Self.userShards) {
            let bytes = try await shards.read(
                shard: shard, request: UserPoolQuery.outbox(limit: 100).encoded, timeout: .seconds(5))
            if case .messages(let m) = try UserPoolReply.decode(bytes) { all += m }
        }
        return all
    }

    /// Runs `body` with a client of this front's router.
    func run<T>(_ body: @Sendable (Client) async throws -> T) async throws -> T {
        let app = Application(router: server.router())
        return try await app.test(.router) { client in try await body(Client(http: client, clock: clock)) }
    }

    struct Client: Sendable {
        let http: any TestClientProtocol
        let clock: TestClock

        /// The raw answer to `operation` with `body` (signed when `signed`).
        func raw(_ operation: String, _ body: [UInt8], signed: Bool) async throws -> TestResponse {
            let target = "AWSCognitoIdentityProviderService.\(operation)"
            var headers: HTTPFields = [
                .contentType: "application/x-amz-json-1.1", HTTPField.Name("X-Amz-Target")!: target,
            ]
            if signed {
                for (name, value) in SigV4TestSigner.sign(target: target, body: body, now: clock.now) {
                    headers[HTTPField.Name(name)!] = value
                }
            }
            return try await http.execute(uri: "/", method: .post, headers: headers, body: ByteBuffer(bytes: body))
        }

        /// Calls `Op`; an error answer is thrown as `APIFailure`.
        @discardableResult
        func call<Op: CognitoOperationType>(_: Op.Type, _ input: Op.Input) async throws -> Op.Output {
            let body = Array(try JSONEncoder().encode(input))
            let response = try await raw(Op.operation.rawValue, body, signed: Op.operation.requiresSigV4)
            let bytes = Data(response.body.readableBytesView)
            guard response.status == .ok else { throw Self.failure(response) }
            return try JSONDecoder().decode(Op.Output.self, from: bytes)
        }

        /// The failure `Op` answers with; records an issue if it succeeds.
        func failure<Op: CognitoOperationType>(
            _ op: Op.Type, _ input: Op.Input, sourceLocation: SourceLocation = #_sourceLocation
        ) async throws -> APIFailure {
            do {
                _ = try await call(op, input)
            } catch let failure as APIFailure {
                return failure
            }
            Issue.record("\(Op.operation.rawValue) succeeded", sourceLocation: sourceLocation)
            return APIFailure(type: "", message: "", status: 200)
        }

        static func failure(_ response: TestResponse) -> APIFailure {
            struct Body: Decodable {
                var __type: String
                var message: String?
            }
            let body = try? JSONDecoder().decode(Body.self, from: Data(response.body.readableBytesView))
            return APIFailure(
                type: body?.__type ?? "", message: body?.message ?? "", status: Int(response.status.code))
        }
    }
}

/// SigV4 as botocore signs a Cognito call (host, content-type, x-amz-date, x-amz-target).
enum SigV4TestSigner {
    static func sign(
        target: String, body: [UInt8], now: Double, region: String = TestFront.region,
        service: String = "cognito-idp", secret: String = TestFront.secretKey
    ) -> [(String, String)] {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        let amzDate = formatter.string(from: Date(timeIntervalSince1970: now))
        let date = String(amzDate.prefix(8))
        let headers = [
            ("content-type", "application/x-amz-json-1.1"), ("host", "localhost"), ("x-amz-date", amzDate),
            ("x-amz-target", target),
        ]
        let signed = headers.map(\.0).joined(separator: ";")
        let canonical = [
            "POST", "/", "", headers.map { "\($0.0):\($0.1)\n" }.joined(), signed, hex(SHA256.hash(data: body)),
        ].joined(separator: "\n")
        let scope = "\(date)/\(region)/\(service)/aws4_request"
        let toSign = ["AWS4-HMAC-SHA256", amzDate, scope, hex(SHA256.hash(data: Array(canonical.utf8)))]
            .joined(separator: "\n")
        var key = SymmetricKey(data: Array("AWS4\(secret)".utf8))
        for part in [date, region, service, "aws4_request"] {
            key = SymmetricKey(data: Array(HMAC<SHA256>.authenticationCode(for: Array(part.utf8), using: key)))
        }
        let signature = hex(HMAC<SHA256>.authenticationCode(for: Array(toSign.utf8), using: key))
        let authorization =
            "AWS4-HMAC-SHA256 Credential=\(TestFront.accessKey)/\(scope), SignedHeaders=\(signed), "
            + "Signature=\(signature)"
        return [("X-Amz-Date", amzDate), ("Authorization", authorization)]
    }

    static func hex<D: Sequence>(_ d: D) -> String where D.Element == UInt8 {
        d.map { String(format: "%02x", $0) }.joined()
    }
}
