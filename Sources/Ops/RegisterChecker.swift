/// One operation on a read/write register, as a client saw it.
public struct RegisterOperation: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable { case read, write }

    public var register: String
    public var client: Int
    public var kind: Kind
    /// The value written, or the value a read returned (nil: the register was empty).
    public var value: String?
    /// Seconds since the start of the history, when the client sent the request.
    public var invoke: Double
    /// When the client got the answer; nil when the outcome is unknown (a write that timed
    /// out or failed with a server error may still take effect, at any later time).
    public var complete: Double?

    public init(register: String, client: Int, kind: Kind, value: String?, invoke: Double, complete: Double?) {
        self.register = register
        self.client = client
        self.kind = kind
        self.value = value
        self.invoke = invoke
        self.complete = complete
    }
}

/// Checks that register histories are linearizable: the Wing–Gong search with Lowe's
/// memoization of (linearized set, register value), one register at a time (a history of
/// independent registers is linearizable exactly when each register's is).
public enum RegisterChecker {
    public struct Violation: Codable, Sendable, CustomStringConvertible {
        public var register: String
        public var operations: Int
        /// The operation the longest linearizable prefix could not be extended by.
        public var stuckAt: RegisterOperation?
        public var gaveUp: Bool
        public var description: String {
            if gaveUp {
                return
                    "register \(register): the search gave up after its step limit (\(operations) operations): not "
                    + "shown linearizable"
            }
            guard let op = stuckAt else { return "register \(register): not linearizable" }
            let what =
                op.kind == .read ? "read \(op.value.map { "\"\($0)\"" } ?? "nothing")" : "write \"\(op.value ?? "")\""
            return
                "register \(register): not linearizable (\(operations) operations); no order explains client "
                + "\(op.client)'s \(what) "
                + "invoked at \(fmt(op.invoke)) s, answered at \(op.complete.map(fmt) ?? "?") s"
        }
    }

    /// Every register's violation (empty: the whole history is linearizable). `initial`
    /// holds each register's value before the history; a register not in it starts empty.
    /// Reads whose outcome is unknown say nothing and are ignored.
    public static func check(
        _ history: [RegisterOperation], initial: [String: String] = [:], stepLimit: Int = 20_000_000
    ) -> [Violation] {
        var byRegister: [String: [RegisterOperation]] = [:]
        for op in history where !(op.kind == .read && op.complete == nil) {
            byRegister[op.register, default: []].append(op)
        }
        var violations: [Violation] = []
        for (register, ops) in byRegister.sorted(by: { $0.key < $1.key }) {
            if let v = checkRegister(register, ops, initial: initial[register], stepLimit: stepLimit) {
                violations.append(v)
            }
        }
        return violations
    }

    static func checkRegister(
        _ name: String, _ ops: [RegisterOperation], initial: String?, stepLimit: Int
    ) -> Violation? {
        // Events: a call and a return per operation, in time order; an unknown outcome's
        // return comes after everything. On equal times calls go first (the permissive order).
        struct Event { var op: Int; var isCall: Bool; var time: Double }
        var events: [Event] = []
        events.reserveCapacity(ops.count * 2)
        for (i, op) in ops.enumerated() {
            events.append(Event(op: i, isCall: true, time: op.invoke))
            events.append(Event(op: i, isCall: false, time: op.complete ?? .infinity))
        }
        events.sort { a, b in a.time != b.time ? a.time < b.time : (a.isCall && !b.isCall) }
        // A doubly linked list over the events, with a sentinel head at index n.
        let n = events.count
        var next = (0...n).map { $0 + 1 }
        var prev = (0...n).map { $0 - 1 }
        next[n] = n == 0 ? n : 0
        prev[0] = n
        prev[n] = n == 0 ? n : n - 1
        if n > 0 { next[n - 1] = n }
        var returnOf = [Int](repeating: 0, count: ops.count)
        for (i, e) in events.enumerated() where !e.isCall { returnOf[e.op] = i }

        func lift(_ call: Int) {
            let ret = returnOf[events[call].op]
            next[prev[call]] = next[call]; prev[next[call]] = prev[call]
            next[prev[ret]] = next[ret]; prev[next[ret]] = prev[ret]
        }
        func unlift(_ call: Int) {
            let ret = returnOf[events[call].op]
            next[prev[ret]] = ret; prev[next[ret]] = ret
            next[prev[call]] = call; prev[next[call]] = call
        }

        struct Key: Hashable { var linearized: [UInt64]; var value: String? }
        var linearized = [UInt64](repeating: 0, count: (ops.count + 63) / 64)
        var seen = Set<Key>()
        var stack: [(call: Int, value: String?)] = []
        var value = initial
        var entry = next[n]
        var steps = 0
        var deepest = -1
        var stuck: Int?
        while entry != n {
            steps += 1
            if steps > stepLimit { return Violation(register: name, operations: ops.count, stuckAt: nil, gaveUp: true) }
            let e = events[entry]
            let op = ops[e.op]
            if e.isCall {
                let ok: Bool
                let after: String?
                switch op.kind {
                case .read: (ok, after) = (op.value == value, value)
                case .write: (ok, after) = (true, op.value)
                }
                var grown = linearized
                grown[e.op / 64] |= 1 << UInt64(e.op % 64)
                if ok, seen.insert(Key(linearized: grown, value: after)).inserted {
                    stack.append((entry, value))
                    value = after
                    linearized = grown
                    lift(entry)
                    entry = next[n]
                } else {
                    entry = next[entry]
                }
            } else {
                // Every completed operation is placed: what is left may never have happened.
                if op.complete == nil { return nil }
                if stack.count > deepest {
                    deepest = stack.count
                    stuck = e.op
                }
                guard let (call, before) = stack.popLast() else {
                    return Violation(
                        register: name, operations: ops.count, stuckAt: stuck.map { ops[$0] }, gaveUp: false)
                }
                value = before
                linearized[events[call].op / 64] &= ~(1 << UInt64(events[call].op % 64))
                unlift(call)
                entry = next[call]
            }
        }
        return nil  // the list emptied: every operation is placed
    }

    static func fmt(_ t: Double) -> String {
        let ms = (t * 1000).rounded() / 1000
        return "\(ms)"
    }
}
