import CognitoModel
import Foundation
import NodeRPC
import Sharding
import UserPool

/// The drill's load: its pool and users, and the workers that write, read, sign up and sign in.
extension FailoverDrill {
    // MARK: Set-up

    struct Setup {
        var pool: String
        var clientId: String
        var probeUsers: [UInt32: String]
    }

    static let password = "Drill-Passw0rd!"
    static let initial = "init"

    func setUp(log: (String) -> Void) async throws -> Setup {
        let p = try await client.call(CreateUserPoolOperation.self, CreateUserPoolRequest(poolName: "cognate-drill"))
        guard let pool = p.userPool?.id else { throw DrillError("CreateUserPool returned no pool id") }
        let c = try await client.call(
            CreateUserPoolClientOperation.self,
            CreateUserPoolClientRequest(
                userPoolId: pool, clientName: "drill",
                explicitAuthFlows: [.allowUserPasswordAuth, .allowRefreshTokenAuth]))
        guard let clientId = c.userPoolClient?.clientId else {
            throw DrillError("CreateUserPoolClient returned no client id")
        }
        let shards = launcher.config.placement.shards
        var probeUsers: [UInt32: String] = [:]
        var i = 0
        while probeUsers.count < shards {
            let name = "probe-\(i)"
            let shard = UserPoolKeys.userShard(pool: pool, canonical: name, userShards: shards)
            if probeUsers[shard] == nil { probeUsers[shard] = name }
            i += 1
        }
        let users =
            (0..<options.registers).map { "reg-\($0)" } + (0..<max(1, options.signInWorkers)).map { "signin-\($0)" }
            + probeUsers.values.sorted()
        for name in users {
            _ = try await client.call(
                AdminCreateUserOperation.self,
                AdminCreateUserRequest(
                    userPoolId: pool, username: name,
                    userAttributes: [AttributeType(name: "nickname", value: Self.initial)],
                    temporaryPassword: "Temp-Passw0rd!", messageAction: .suppress))
            _ = try await client.call(
                AdminSetUserPasswordOperation.self,
                AdminSetUserPasswordRequest(userPoolId: pool, username: name, password: Self.password, permanent: true))
        }
        log(
            "pool \(pool): \(options.registers) registers, \(options.signInWorkers) sign-in users, "
                + "a probe user on each of \(shards) shards")
        return Setup(pool: pool, clientId: clientId, probeUsers: probeUsers)
    }

    // MARK: Load

    func record(_ kind: String, began: Double, error: Error?) {
        let end = now()
        lock.withLock {
            counts[kind, default: 0] += 1
            if let error {
                let type = (error as? CognitoHTTPClient.CallError)?.type ?? "\(type(of: error))"
                errors[type, default: 0] += 1
                outcomes.append(Outcome(start: began, end: end, ok: false, type: type))
            } else {
                outcomes.append(Outcome(start: began, end: end, ok: true, type: kind))
            }
        }
    }

    static func isUnknown(_ error: Error) -> Bool {
        guard let e = error as? CognitoHTTPClient.CallError else { return true }
        return !e.isDefinite
    }

    func writer(_ w: Int, _ s: Setup) async {
        var seq = 0
        while isRunning {
            let register = "reg-\((seq + w) % options.registers)"
            let value = "w\(w)-\(seq)"
            seq += 1
            let invoke = now()
            do {
                try await setNickname(of: register, to: value, s)
                let done = now()
                lock.withLock {
                    history.append(
                        RegisterOperation(
                            register: register, client: w, kind: .write, value: value, invoke: invoke, complete: done))
                }
                record("update", began: invoke, error: nil)
            } catch {
                if Self.isUnknown(error) {
                    lock.withLock {
                        history.append(
                            RegisterOperation(
                                register: register, client: w, kind: .write, value: value, invoke: invoke, complete: nil
                            ))
                    }
                }
                record("update", began: invoke, error: error)
            }
            try? await Task.sleep(for: .seconds(options.pace))
        }
    }

    func setNickname(of user: String, to value: String, _ s: Setup) async throws {
        _ = try await client.call(
            AdminUpdateUserAttributesOperation.self,
            AdminUpdateUserAttributesRequest(
                userPoolId: s.pool, username: user, userAttributes: [AttributeType(name: "nickname", value: value)]))
    }

    func readRegister(_ register: String, client id: Int, _ s: Setup) async throws {
        let invoke = now()
        let r = try await client.call(
            AdminGetUserOperation.self, AdminGetUserRequest(userPoolId: s.pool, username: register))
        let done = now()
        let value = r.userAttributes?.first { $0.name == "nickname" }?.value
        lock.withLock {
            history.append(
                RegisterOperation(
                    register: register, client: id, kind: .read, value: value, invoke: invoke, complete: done))
        }
    }

    func reader(_ r: Int, _ s: Setup) async {
        var seq = 0
        while isRunning {
            let register = "reg-\((seq + r) % options.registers)"
            seq += 1
            let invoke = now()
            do {
                try await readRegister(register, client: 100 + r, s)
                record("read", began: invoke, error: nil)
            } catch {
                record("read", began: invoke, error: error)
            }
            try? await Task.sleep(for: .seconds(options.pace))
        }
    }

    func signUpWorker(_ w: Int, _ s: Setup) async {
        var seq = 0
        while isRunning {
            let name = "su-\(w)-\(seq)"
            seq += 1
            let invoke = now()
            do {
                _ = try await client.call(
                    SignUpOperation.self, SignUpRequest(clientId: s.clientId, username: name, password: Self.password))
                lock.withLock { acknowledged.append(name) }
                record("signup", began: invoke, error: nil)
            } catch {
                if Self.isUnknown(error) { lock.withLock { unknownSignUps += 1 } }
                record("signup", began: invoke, error: error)
            }
            try? await Task.sleep(for: .seconds(options.pace))
        }
    }

    func signInWorker(_ w: Int, _ s: Setup) async {
        while isRunning {
            let invoke = now()
            do {
                _ = try await client.call(
                    InitiateAuthOperation.self,
                    InitiateAuthRequest(
                        authFlow: .userPasswordAuth,
                        authParameters: ["USERNAME": "signin-\(w)", "PASSWORD": Self.password], clientId: s.clientId))
                record("signin", began: invoke, error: nil)
            } catch {
                if (error as? CognitoHTTPClient.CallError)?.type == "NotAuthorizedException" {
                    lock.withLock { refused += 1 }
                }
                record("signin", began: invoke, error: error)
            }
            try? await Task.sleep(for: .seconds(options.pace))
        }
    }

    /// Starts a probe write to every shard's probe user every 50 ms, not waiting for answers.
    func prober(_ s: Setup) async {
        var seq = 0
        await withTaskGroup(of: Void.self) { group in
            while isRunning {
                seq += 1
                for (shard, user) in s.probeUsers {
                    let busy = lock.withLock { () -> Bool in
                        if probesInFlight >= 200 { return true }
                        probesInFlight += 1
                        return false
                    }
                    if busy { continue }
                    group.addTask { [seq] in
                        let invoke = self.now()
                        let ok = (try? await self.setNickname(of: user, to: "probe-\(seq)", s)) != nil
                        let done = self.now()
                        self.lock.withLock {
                            self.probesInFlight -= 1
                            if ok { self.probes[shard, default: []].append((invoke, done)) }
                        }
                    }
                }
                try? await Task.sleep(for: .milliseconds(50))
            }
        }
    }
}
