import Ops
import Testing

private func w(_ client: Int, _ value: String, _ invoke: Double, _ complete: Double?, on register: String = "r") -> RegisterOperation {
    RegisterOperation(register: register, client: client, kind: .write, value: value, invoke: invoke, complete: complete)
}

private func r(_ client: Int, _ value: String?, _ invoke: Double, _ complete: Double, on register: String = "r") -> RegisterOperation {
    RegisterOperation(register: register, client: client, kind: .read, value: value, invoke: invoke, complete: complete)
}

@Suite("Linearizability checker for registers")
struct RegisterCheckerTests {
    @Test("known-good histories pass")
    func goodHistories() {
        let good: [(String, [RegisterOperation])] = [
            ("empty", []),
            ("sequential", [w(1, "a", 0, 1), r(2, "a", 2, 3), w(1, "b", 4, 5), r(2, "b", 6, 7)]),
            ("a read overlapping a write may see the old value", [w(1, "a", 0, 1), w(1, "b", 2, 6), r(2, "a", 3, 4)]),
            ("… or the new one", [w(1, "a", 0, 1), w(1, "b", 2, 6), r(2, "b", 3, 4)]),
            ("concurrent writes in either order", [w(1, "a", 0, 5), w(2, "b", 1, 4), r(3, "a", 6, 7)]),
            ("the initial value is read", [r(1, "init", 0, 1), w(2, "x", 2, 3)]),
            ("an unknown write that took effect late", [w(1, "a", 0, nil), r(2, nil, 1, 2), r(2, "a", 10, 11)]),
            ("an unknown write that never took effect", [w(1, "a", 0, nil), w(2, "b", 1, 2), r(3, "b", 3, 4)]),
            ("two registers, each linearizable", [w(1, "a", 0, 1, on: "x"), w(1, "b", 0, 1, on: "y"), r(2, "b", 2, 3, on: "y"), r(2, "a", 2, 3, on: "x")]),
        ]
        for (name, history) in good {
            let initial = name == "the initial value is read" ? ["r": "init"] : [:]
            #expect(RegisterChecker.check(history, initial: initial).isEmpty, "\(name)")
        }
    }

    @Test("known-bad histories are caught and named")
    func badHistories() {
        let bad: [(String, [RegisterOperation])] = [
            ("a stale read after a completed write", [w(1, "a", 0, 1), w(1, "b", 2, 3), r(2, "a", 4, 5)]),
            ("a lost acknowledged write (the final read sees the older value)", [w(1, "a", 0, 1), w(2, "b", 2, 3), r(3, "a", 10, 11)]),
            ("a read of a value nobody wrote", [w(1, "a", 0, 1), r(2, "zzz", 2, 3)]),
            ("reads going back in time", [w(1, "a", 0, 1), w(1, "b", 2, 10), r(2, "b", 3, 4), r(3, "a", 5, 6)]),
            ("a value seen before its write began", [r(2, "a", 0, 1), w(1, "a", 2, 3)]),
            ("an empty read after a write completed", [w(1, "a", 0, 1), r(2, nil, 2, 3)]),
        ]
        for (name, history) in bad {
            let violations = RegisterChecker.check(history)
            #expect(violations.count == 1, "\(name)")
            #expect(violations.first?.register == "r", "\(name)")
        }
        // Only the broken register is reported.
        let mixed = [w(1, "a", 0, 1, on: "x"), r(2, "a", 2, 3, on: "x"), w(1, "a", 0, 1, on: "y"), w(1, "b", 2, 3, on: "y"), r(2, "a", 4, 5, on: "y")]
        #expect(RegisterChecker.check(mixed).map(\.register) == ["y"])
    }

    @Test("random histories of a real register pass; corrupting one read is caught")
    func generatedHistories() {
        var rng = SplitMixRandom(seed: 42)
        var caught = 0
        for round in 0..<200 {
            let history = simulatedRegister(clients: 4, operations: 60, rng: &rng)
            #expect(RegisterChecker.check(history).isEmpty, "round \(round)")
            // Change one read to a value written only after that read completed, which no
            // linearization can explain.
            var corrupted = history
            guard let i = corrupted.indices.first(where: { i in
                corrupted[i].kind == .read && corrupted.contains { $0.kind == .write && $0.invoke > corrupted[i].complete! }
            }) else { continue }
            let later = corrupted.first { $0.kind == .write && $0.invoke > corrupted[i].complete! }!
            corrupted[i].value = later.value
            if !RegisterChecker.check(corrupted).isEmpty { caught += 1 } else { Issue.record("round \(round): a read of a future value passed") }
        }
        #expect(caught > 150)
    }

    /// A register used by `clients` concurrently: each operation takes effect at a random
    /// instant between its invoke and completion times, so the history is linearizable.
    func simulatedRegister(clients: Int, operations: Int, rng: inout SplitMixRandom) -> [RegisterOperation] {
        var busyUntil = [Double](repeating: 0, count: clients)
        var planned: [(op: RegisterOperation, at: Double)] = []
        for k in 0..<operations {
            let c = Int(rng.next() % UInt64(clients))
            let invoke = busyUntil[c] + Double(rng.next() % 100) / 100
            let at = invoke + Double(rng.next() % 100) / 50
            let complete = at + Double(rng.next() % 100) / 50
            busyUntil[c] = complete
            let write = rng.next() % 2 == 0
            planned.append((RegisterOperation(register: "r", client: c, kind: write ? .write : .read, value: write ? "v\(k)" : nil,
                                              invoke: invoke, complete: complete), at))
        }
        var value: String?
        var out: [RegisterOperation] = []
        for var p in planned.sorted(by: { $0.at < $1.at }) {
            if p.op.kind == .write { value = p.op.value } else { p.op.value = value }
            out.append(p.op)
        }
        return out
    }
}
