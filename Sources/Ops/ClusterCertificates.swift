import AuthCrypto
import Crypto
import Foundation
import NodeRPC
import X509

/// Creates a cluster's certificate authority and the certificates of its processes: one
/// per node (`cognate://node/<id>` as the URI in its subject alternative names), one for
/// fronts (`cognate://front/front`) and one for the operator's tools
/// (`cognate://operator/operator`). Peers check that identity, not hostnames, so
/// a certificate stays valid when a node moves to another address. Keys are P-256,
/// written 0600 in directories made 0700; certificates are PEM.
public enum ClusterCertificates {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// What a run created.
    public struct Created: Sendable {
        public var files: [String] = []
    }

    static let caValidity: TimeInterval = 10 * 365 * 86_400
    static let leafValidity: TimeInterval = 825 * 86_400

    /// Creates whatever of the definition's TLS files is missing: the CA (only when neither
    /// its certificate nor its key exists), then each node's and the front's certificate.
    /// With `nodes` / `front`, only those; with `replace`, issues them again. Needs the
    /// CA's key to issue anything.
    @discardableResult
    public static func create(
        for config: ClusterConfig, nodes only: [UInt64]? = nil, front: Bool = true, replace: Bool = false
    ) throws -> Created {
        var created = Created()
        let fm = FileManager.default
        let (caCertPath, caKeyPath) = (config.caCertificatePath, config.caKeyPath)
        if !fm.fileExists(atPath: caCertPath) && !fm.fileExists(atPath: caKeyPath) {
            let (cert, key) = try makeCA(name: config.name ?? "cognate")
            try write(key, to: caKeyPath, secret: true)
            try write(cert, to: caCertPath, secret: false)
            created.files += [caCertPath, caKeyPath]
        }
        let ca = try loadCA(certificate: caCertPath, key: caKeyPath)
        for node in config.nodes where only?.contains(node.id) ?? true {
            let (certPath, keyPath) = (config.certificatePath(node: node), config.keyPath(node: node))
            guard replace || !fm.fileExists(atPath: certPath) || !fm.fileExists(atPath: keyPath) else { continue }
            let (cert, key) = try issue(.node(node.id), ca: ca)
            try write(key, to: keyPath, secret: true)
            try write(cert, to: certPath, secret: false)
            created.files += [certPath, keyPath]
        }
        let clients: [(ClusterIdentity, String, String)] = [
            (.front("front"), config.frontCertificatePath, config.frontKeyPath),
            (.operator("operator"), config.operatorCertificatePath, config.operatorKeyPath),
        ]
        for (identity, certPath, keyPath) in clients
        where front && (replace || !fm.fileExists(atPath: certPath) || !fm.fileExists(atPath: keyPath)) {
            let (cert, key) = try issue(identity, ca: ca)
            try write(key, to: keyPath, secret: true)
            try write(cert, to: certPath, secret: false)
            created.files += [certPath, keyPath]
        }
        // The deliverers' key pair; never replaced (messages sealed to it wait in outboxes).
        let (deliveryPub, deliveryKey) = (config.deliveryPublicKeyPath, config.deliveryKeyPath)
        if !fm.fileExists(atPath: deliveryPub) && !fm.fileExists(atPath: deliveryKey) {
            let pair = DeliveryBox.generate()
            try write(DeliveryBox.hex(pair.privateKey) + "\n", to: deliveryKey, secret: true)
            try write(DeliveryBox.hex(pair.publicKey) + "\n", to: deliveryPub, secret: false)
            created.files += [deliveryPub, deliveryKey]
        }
        return created
    }

    struct Authority {
        var certificate: Certificate
        var key: P256.Signing.PrivateKey
    }

    static func makeCA(name: String) throws -> (certificate: String, key: String) {
        let key = P256.Signing.PrivateKey()
        let subject = try DistinguishedName {
            OrganizationName("cognate")
            CommonName("\(name) cluster CA")
        }
        let now = Date()
        let certificate = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: .init(key.publicKey),
            notValidBefore: now.addingTimeInterval(-300), notValidAfter: now.addingTimeInterval(caValidity),
            issuer: subject, subject: subject, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
                SubjectKeyIdentifier(hash: .init(key.publicKey))
            },
            issuerPrivateKey: .init(key))
        return (try certificate.serializeAsPEM().pemString, key.pemRepresentation)
    }

    static func loadCA(certificate: String, key: String) throws -> Authority {
        guard let certText = try? String(contentsOfFile: certificate, encoding: .utf8) else {
            throw Failure(description: "cannot read the cluster CA certificate \(certificate)")
        }
        guard let keyText = try? String(contentsOfFile: key, encoding: .utf8) else {
            throw Failure(
                description:
                    "cannot read the cluster CA key \(key): certificates are issued where the CA key is (keep it off "
                    + "the servers)"
            )
        }
        return Authority(
            certificate: try Certificate(pemEncoded: certText),
            key: try P256.Signing.PrivateKey(pemRepresentation: keyText))
    }

    static func issue(_ identity: ClusterIdentity, ca: Authority) throws -> (certificate: String, key: String) {
        let key = P256.Signing.PrivateKey()
        let subject = try DistinguishedName {
            OrganizationName("cognate")
            CommonName("\(identity)")
        }
        let now = Date()
        let certificate = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: .init(key.publicKey),
            notValidBefore: now.addingTimeInterval(-300), notValidAfter: now.addingTimeInterval(leafValidity),
            issuer: ca.certificate.subject, subject: subject, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true))
                try ExtendedKeyUsage([.serverAuth, .clientAuth])
                SubjectAlternativeNames([.uniformResourceIdentifier(identity.uri)])
                AuthorityKeyIdentifier(
                    keyIdentifier: try? ca.certificate.extensions.subjectKeyIdentifier?.keyIdentifier)
            },
            issuerPrivateKey: .init(ca.key))
        return (try certificate.serializeAsPEM().pemString, key.pemRepresentation)
    }

    /// Writes `text` to `path` (making its directory 0700 if missing): 0600 for a secret,
    /// 0644 for a certificate.
    static func write(_ text: String, to path: String, secret: Bool) throws {
        try PrivateFiles.write(Array(text.utf8), to: path, mode: secret ? 0o600 : 0o644)
    }
}

/// Files only this user may read: keys, the master key file, data directories.
public enum PrivateFiles {
    /// `mkdir -p` with 0700 for the directories it makes.
    public static func makeDirectory(_ path: String) throws {
        try FileManager.default.createDirectory(
            atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
    }

    /// Writes `bytes` to `path` atomically (a temporary file renamed over it), with `mode`
    /// from the start, so the file is never readable by others, even for a moment.
    public static func write(_ bytes: [UInt8], to path: String, mode: mode_t = 0o600) throws {
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty { try makeDirectory(directory) }
        let temporary = "\(path).tmp-\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
        guard fd >= 0 else {
            throw ClusterCertificates.Failure(description: "cannot create \(path): \(String(cString: strerror(errno)))")
        }
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + done, bytes.count - done) }
            guard n > 0 else {
                close(fd)
                unlink(temporary)
                throw ClusterCertificates.Failure(
                    description: "cannot write \(path): \(String(cString: strerror(errno)))")
            }
            done += n
        }
        fchmod(fd, mode)
        fsync(fd)
        close(fd)
        guard rename(temporary, path) == 0 else {
            unlink(temporary)
            throw ClusterCertificates.Failure(description: "cannot write \(path): \(String(cString: strerror(errno)))")
        }
    }
}
