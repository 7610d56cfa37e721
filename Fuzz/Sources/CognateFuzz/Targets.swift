import AuthCrypto
import CognitoModel
import Foundation
import Front
import NIOCore
import NIOEmbedded
import Node
import NodeRPC
import Raft
import UserPool

/// The fuzz targets, one binary: `COGNATE_FUZZ_TARGET` picks the one libFuzzer drives.
/// Each feeds arbitrary bytes to a decoder that takes them from a peer, a client or the
/// disk, and checks what must hold whatever the input: no crash, no hang, and round trips
/// where there is an encoder.
enum Target: String, CaseIterable {
    /// Bytes on a node connection, through the frame decoder.
    case frame
    /// Frame payloads and stored records: Raft batches, snapshot chunks, client requests and
    /// responses, write-ahead log records, log entries, key-value commands, backup chunks and
    /// copies, and CSV import files.
    case codecs
    /// A Cognito request body through the model's shapes and constraints, and the shard's
    /// decoders.
    case json
    /// An Authorization header and X-Amz-Date through the SigV4 verifier.
    case sigv4
    /// Hex, timestamps, base64, key files and SRP's step 2 with a client's A.
    case srp
    /// What a passkey's authenticator and browser hand the relying party: CBOR, COSE keys,
    /// authenticator data, attestation objects, and a credential's JSON.
    case webauthn
    /// Well-typed user-pool commands with extreme values, applied to two replicas of a shard
    /// (`ApplyFuzz`): no trap, replicas agree.
    case apply

    func run(_ bytes: [UInt8]) {
        switch self {
        case .frame: Self.frame(bytes)
        case .codecs: Self.codecs(bytes)
        case .json: Self.json(bytes)
        case .sigv4: Self.sigv4(bytes)
        case .srp: Self.srp(bytes)
        case .webauthn: Self.webauthn(bytes)
        case .apply: ApplyFuzz.run(bytes)
        }
    }

    static func webauthn(_ bytes: [UInt8]) {
        guard let selector = bytes.first else { return }
        let rest = Array(bytes.dropFirst())
        switch selector % 5 {
        case 0:
            if let value = try? CBOR.decode(rest) {
                precondition((try? CBOR.decode(value.encoded)) == value, "decoded CBOR re-encodes to the same value")
            }
        case 1: _ = try? WebAuthn.AuthenticatorData(rest)
        case 2:
            if let key = try? WebAuthn.PublicKey(cose: rest) {
                precondition(!key.verify([], over: rest), "an empty signature never verifies")
            }
        case 3:
            // clientDataJSON first (length-prefixed by one byte), then the attestation object.
            let n = min(Int(rest.first ?? 0), max(rest.count - 1, 0))
            let client = Array(rest.dropFirst().prefix(n))
            let attestation = Array(rest.dropFirst(1 + n))
            let expected = WebAuthn.Expectation(challenge: [1, 2, 3], rpId: "example.com", requireUserVerification: false)
            _ = try? WebAuthn.register(clientDataJSON: client, attestationObject: attestation, expected: expected)
            _ = try? WebAuthn.assert(
                clientDataJSON: client, authenticatorData: attestation, signature: attestation, publicKey: attestation,
                storedCount: 0, expected: expected)
        default:
            _ = try? PasskeyRules.CredentialJSON(text: String(decoding: rest, as: UTF8.self))
        }
    }

    static func frame(_ bytes: [UInt8]) {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(FrameDecoder(maxSize: 1 << 16)))
        var buffer = channel.allocator.buffer(capacity: bytes.count)
        buffer.writeBytes(bytes)
        // Refused bytes are an error the connection closes on; anything else must decode.
        _ = try? channel.writeInbound(buffer)
        while let frame = try? channel.readInbound(as: Frame.self) {
            var out = ByteBuffer()
            frame.encode(into: &out)
            precondition(out.readableBytes == frame.payload.count + 6, "a decoded frame re-encodes to its size")
        }
        _ = try? channel.finish()
    }

    static func codecs(_ bytes: [UInt8]) {
        guard let selector = bytes.first else { return }
        let rest = Array(bytes.dropFirst())
        switch selector % 11 {
        case 0:
            if let batch = try? NodeCodecs.raftBatch(rest) {
                let again = NodeCodecs.encodeRaftBatch(batch).flatMap { (try? NodeCodecs.raftBatch($0)) ?? [] }
                precondition(again.count == batch.count, "a decoded Raft batch re-encodes to as many messages")
            }
        case 1: _ = try? NodeCodecs.snapshotChunk(rest)
        case 2:
            if let request = try? ClientRequest(decoding: rest) {
                precondition((try? ClientRequest(decoding: request.encode())) == request, "client requests round-trip")
            }
            if let reserved = try? ReservedReply(decoding: rest) {
                precondition((try? ReservedReply(decoding: reserved.encoded)) == reserved, "reserved replies round-trip")
            }
        case 3:
            if let response = try? ClientResponse(decoding: rest) {
                precondition((try? ClientResponse(decoding: response.encode())) == response, "client responses round-trip")
            }
        case 4: _ = try? NodeCodecs.walRecord(rest)
        case 5: _ = try? NodeCodecs.logEntry(rest)
        case 6:
            if let command = try? KVStateMachine.Command(decoding: rest) {
                precondition((try? KVStateMachine.Command(decoding: command.encoded)) == command, "KV commands round-trip")
            }
        case 7: _ = try? KVStateMachine.decodeGet(rest)
        case 8:
            if let chunk = try? BackupChunk(decoding: rest) {
                precondition((try? BackupChunk(decoding: chunk.encode())) == chunk, "backup chunks round-trip")
            }
        case 9: _ = try? SnapshotRecords.count(rest)
        default:
            // A CSV import file: the rows do not depend on where the upload was cut into chunks.
            guard let cut = rest.first else { return }
            let text = Array(rest.dropFirst())
            let at = Int(cut) % (text.count + 1)
            precondition(
                csvRows([text[...]]) == csvRows([text[..<at], text[at...]]),
                "CSV rows do not depend on where the file is cut")
        }
    }

    /// The rows a CSV reader makes of `pieces` fed in turn, or nil where it refuses the file.
    static func csvRows(_ pieces: [ArraySlice<UInt8>]) -> [[String]]? {
        var reader = CSVRowReader()
        var rows: [[String]] = []
        do {
            for piece in pieces { try reader.feed(piece) { rows.append($1) } }
            try reader.finish { rows.append($1) }
        } catch {
            return nil
        }
        return rows
    }

    static let decoder: JSONDecoder = {
        let d = JSONDecoder()
        d.dateDecodingStrategy = .secondsSince1970
        return d
    }()

    /// A body decoded as one of the model's request shapes and checked against its
    /// constraints, as the front does before any handler runs: refused or accepted, and an
    /// accepted shape encodes and decodes to itself.
    static func shape<T: CognitoShape>(_: T.Type, _ body: Data) {
        guard let input = try? decoder.decode(T.self, from: body) else { return }
        let failures = input.validationFailures()
        if !failures.isEmpty { _ = ValidationFailure.message(failures) }
        guard let again = try? JSONEncoder().encode(input) else { preconditionFailure("a decoded shape encodes") }
        precondition((try? decoder.decode(T.self, from: again)) != nil, "an encoded shape decodes")
    }

    static func json(_ bytes: [UInt8]) {
        let body = Data(bytes)
        shape(SignUpRequest.self, body)
        shape(CreateUserPoolRequest.self, body)
        shape(InitiateAuthRequest.self, body)
        shape(AdminUpdateUserAttributesRequest.self, body)
        shape(CreateUserPoolClientRequest.self, body)
        shape(RespondToAuthChallengeRequest.self, body)
        _ = try? UserPoolCommand.decode([UserPoolCommand.tag] + bytes)
        _ = try? UserPoolQuery.decode([UserPoolCommand.tag] + bytes)
        _ = try? UserPoolReply.decode(bytes)
        if let state = SRPChallengeState(decoding: bytes) {
            precondition(SRPChallengeState(decoding: state.encoded) == state, "sealed SRP state round-trips")
        }
        if let session = SignInSession(decoding: bytes) {
            precondition(SignInSession(decoding: session.encoded) == session, "a sealed session round-trips")
        }
        if let token = RefreshTokenState(decoding: bytes) {
            precondition(RefreshTokenState(decoding: token.encoded) == token, "a sealed refresh token round-trips")
        }
    }

    static let verifier = SigV4Verifier(keys: ["AKID": "secret"], region: "us-east-1")

    static func sigv4(_ bytes: [UInt8]) {
        let text = String(decoding: bytes, as: UTF8.self)
        let parts = text.split(separator: "\n", maxSplits: 3, omittingEmptySubsequences: false).map(String.init)
        var headers = ["host": "127.0.0.1:9229"]
        if parts.count > 0 { headers["authorization"] = parts[0] }
        if parts.count > 1 { headers["x-amz-date"] = parts[1] }
        if parts.count > 2 { headers["x-amz-target"] = parts[2] }
        _ = try? verifier.verify(
            method: "POST", path: "/", query: parts.count > 3 ? parts[3] : "", headers: headers, body: bytes,
            now: 1_790_000_000)
    }

    // libFuzzer runs one input at a time, on one thread: nothing shares the workspace.
    nonisolated(unsafe) static let workspace = SRPWorkspace()
    static let srpVerifier: PasswordVerifier = {
        var rng = SystemRandomNumberGenerator()
        return workspace.makeVerifier(poolName: "Fuzz", userIdForSrp: "user", password: "Passw0rd!", using: &rng)
    }()
    static let challenge = SRPServerChallenge(b: Array(repeating: 7, count: 32), B: Array(repeating: 9, count: 384))

    static func srp(_ bytes: [UInt8]) {
        let text = String(decoding: bytes, as: UTF8.self)
        if let decoded = SRPHex.decode(text) {
            precondition(decoded.count <= (text.utf8.count + 1) / 2, "hex decodes to at most half its digits")
        }
        _ = try? SRPHex.validate(text)
        _ = SRPHex.padHex(text)
        _ = try? CognitoTimestamp.parse(text)
        _ = Base64.decode(text)
        _ = Base64URL.decode(text)
        _ = uuidMilliseconds(text)
        _ = try? MasterKeys.parse(text)
        // Step 2 with this text as the client's A: refused or computed, never a crash.
        if text.utf8.count <= 1_024 {
            _ = try? workspace.passwordKey(clientAHex: text, challenge: challenge, verifier: srpVerifier)
        }
    }
}
