import ArgumentParser
import AuthCrypto
import Foundation

struct Debug: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Tools for cross-checking against other implementations.",
        shouldDisplay: false,
        subcommands: [SRPServer.self]
    )

    /// The server half of SRP on stdin/stdout, one JSON object a line, so a real client
    /// library (pycognito) can be driven against this build's crypto.
    ///
    /// Requests:
    /// - `{"op":"verifier","poolId","username","password"}` → `{"salt","verifier","powers"}` (hex)
    /// - `{"op":"start","salt","verifier"[,"powers"]}` → `{"SALT","SRP_B","SECRET_BLOCK"}` as in the challenge
    /// - `{"op":"finish","poolId","username","salt","verifier"[,"powers"],"SRP_A","SECRET_BLOCK",
    ///   "TIMESTAMP","PASSWORD_CLAIM_SIGNATURE"}` → `{"ok":true}` or `{"ok":false,"error"}`
    ///
    /// Without "powers", step 2 takes the plain exponentiation, as for a verifier stored
    /// before they were added.
    struct SRPServer: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "srp-server")

        func run() throws {
            var rng = SystemRandomNumberGenerator()
            let workspace = SRPWorkspace()
            let sealer = Sealer(sealingKey: .init(id: 1, bytes: (0..<32).map { _ in UInt8.random(in: 0...255) }))
            while let line = readLine() {
                let reply: [String: Any]
                do {
                    guard let request = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                        throw AuthCryptoError(.malformedBox, "request is not a JSON object")
                    }
                    reply = try handle(request, workspace, sealer, &rng)
                } catch {
                    reply = ["ok": false, "error": "\(error)"]
                }
                let data = try JSONSerialization.data(withJSONObject: reply, options: [.sortedKeys])
                print(String(decoding: data, as: UTF8.self))
                fflush(nil)
            }
        }

        private func handle(
            _ r: [String: Any], _ workspace: SRPWorkspace, _ sealer: Sealer, _ rng: inout SystemRandomNumberGenerator
        ) throws -> [String: Any] {
            func field(_ name: String) throws -> String {
                guard let value = r[name] as? String else { throw ValidationError("missing string field \(name)") }
                return value
            }
            func stored() throws -> PasswordVerifier {
                guard let salt = SRPHex.decode(try field("salt")), let v = SRPHex.decode(try field("verifier")),
                    let powers = SRPHex.decode(r["powers"] as? String ?? "")
                else {
                    throw ValidationError("salt, verifier and powers must be even-length hex")
                }
                return PasswordVerifier(salt: salt, verifier: v, powers: powers)
            }
            let now = Int64(Date().timeIntervalSince1970)
            switch try field("op") {
            case "verifier":
                let v = workspace.makeVerifier(
                    poolName: SRPHash.poolName(fromPoolId: try field("poolId")), userIdForSrp: try field("username"),
                    password: try field("password"), using: &rng)
                return ["salt": hex(v.salt), "verifier": hex(v.verifier), "powers": hex(v.powers)]
            case "start":
                let challenge = workspace.startChallenge(verifier: try stored(), using: &rng)
                let block = sealer.seal(challenge.b + challenge.B, expiresAt: now + 300, using: &rng)
                return ["SALT": try stored().saltHex, "SRP_B": challenge.BHex, "SECRET_BLOCK": Base64.encode(block)]
            case "finish":
                guard let block = Base64.decode(try field("SECRET_BLOCK")) else {
                    throw ValidationError("SECRET_BLOCK is not base64")
                }
                let state = try sealer.open(block, now: now)
                let b = Array(state.prefix(SRPWorkspace.secretExponentBytes))
                let challenge = SRPServerChallenge(b: b, B: Array(state.dropFirst(b.count)))
                let timestamp = try field("TIMESTAMP")
                let signed = try CognitoTimestamp.parse(timestamp)
                guard abs(signed - now) <= 300 else {
                    return ["ok": false, "error": "TIMESTAMP outside 5 minutes of the server clock"]
                }
                let poolName = SRPHash.poolName(fromPoolId: try field("poolId"))
                let key = try workspace.passwordKey(
                    clientAHex: try field("SRP_A"), challenge: challenge, verifier: try stored())
                let ok = SRPWorkspace.verifyClaim(
                    signatureBase64: try field("PASSWORD_CLAIM_SIGNATURE"), key: key, poolName: poolName,
                    userIdForSrp: try field("username"), secretBlock: block, timestamp: timestamp)
                return ok ? ["ok": true] : ["ok": false, "error": "PASSWORD_CLAIM_SIGNATURE does not match"]
            case let op:
                throw ValidationError("unknown op \(op)")
            }
        }

        private func hex(_ bytes: [UInt8]) -> String {
            bytes.map { String(format: "%02x", $0) }.joined()
        }
    }
}
