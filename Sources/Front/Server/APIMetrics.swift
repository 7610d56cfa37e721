import CognitoModel
import Dispatch
import Metrics
import UserPool

/// Per-operation counts and latencies for `/metrics` (the dashboard in
/// `Cluster/grafana-dashboard.json` reads them): `cognate_api_requests_total{operation,
/// outcome}`, `cognate_api_request_seconds{operation}`, and
/// `cognate_signin_lockouts_total`, sign-ins refused because the user is locked out. The
/// metric objects are made once, at start-up, so a request costs two atomic updates.
struct APIMetrics: Sendable {
    struct Operation: Sendable {
        let ok: Counter
        let failed: Counter
        let seconds: Timer

        init(_ name: String) {
            ok = Counter(label: "cognate_api_requests_total", dimensions: [("operation", name), ("outcome", "ok")])
            failed = Counter(
                label: "cognate_api_requests_total", dimensions: [("operation", name), ("outcome", "error")])
            seconds = Timer(label: "cognate_api_request_seconds", dimensions: [("operation", name)])
        }

        /// One request that began at `start` (`DispatchTime` nanoseconds) has ended.
        func done(ok succeeded: Bool, start: UInt64) {
            (succeeded ? ok : failed).increment()
            seconds.recordNanoseconds(Int64(DispatchTime.now().uptimeNanoseconds &- start))
        }
    }

    let operations: [CognitoOperation: Operation]
    let lockouts = Counter(label: "cognate_signin_lockouts_total")

    init(_ implemented: [CognitoOperation]) {
        operations = Dictionary(uniqueKeysWithValues: implemented.map { ($0, Operation($0.rawValue)) })
    }

    /// Counts a refusal that is a lockout (Cognito's "Password attempts exceeded").
    func note(_ error: any Error) {
        if let e = error as? PoolError, e.code == .notAuthorized, e.message == PoolError.lockedOutMessage {
            lockouts.increment()
        }
    }
}
