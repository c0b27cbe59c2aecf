import AtomicFiles
import PKI

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

#if canImport(Glibc)
    import Glibc
#endif

/// The device's key and certificate pairs on disk, written so that a crash never leaves a key beside a
/// certificate it does not belong to (K11).
///
/// The bundle's own pair (`tls.cert`, `tls.key` of agent.json) is the first. Each renewal writes a new
/// folder `FOLDER/<n>/` holding `key.pem` (0600), `cert.pem` and `chain.pem`, each written to a temporary
/// file, fsynced and renamed, the folder fsynced; only then is the pointer `FOLDER/current` (the name of
/// that folder) replaced the same way. A crash before the pointer moves leaves the old pair current; after
/// it, the new pair is complete. At start the pointed-to pair is read back and checked (the key must be the
/// certificate's); a missing or mismatched pair is reported and the newest good pair is used instead.
public final class CredentialStore: Sendable {
    /// One key and certificate pair, with the certificate's validity.
    public struct Pair: Sendable, Equatable {
        public let certificate: String
        public let key: String
        public let chain: String?
        public let notBefore: Date
        public let notAfter: Date
        public let serial: String
        /// Where the lifetime is counted from: the later of notBefore and the time the certificate file was
        /// written. Certificates are backdated a few minutes for clock skew, which would otherwise move
        /// the renewal of a short-lived certificate to the moment it arrives.
        public let lifetimeStart: Date
    }

    public let folder: String
    private let original: (certificate: String, key: String, chain: String?)

    public init(configuration: AgentConfiguration) {
        folder = configuration.renewal.folder
        original = (configuration.tls.cert, configuration.tls.key, configuration.tls.chain)
    }

    private var pointerPath: String { folder + "/current" }

    /// The pair to use, and a sentence about any problem found on the way (nil when none).
    public func current() -> (pair: Pair?, problem: String?) {
        var problem: String?
        if let text = try? String(contentsOfFile: pointerPath, encoding: .utf8),
            case let name = String(text.filter { !$0.isWhitespace }), !name.isEmpty
        {
            let path = folder + "/" + name
            switch check(certificate: path + "/cert.pem", key: path + "/key.pem", chain: path + "/chain.pem") {
            case .success(let pair): return (pair, nil)
            case .failure(let error): problem = "the current credential pair in '\(path)' is unusable: \(error.message)"
            }
        } else {
            switch check(certificate: original.certificate, key: original.key, chain: original.chain) {
            case .success(let pair): return (pair, nil)
            case .failure(let error): problem = "the bundle's credential pair is unusable: \(error.message)"
            }
        }
        // Fall back to the newest pair that is whole and matching.
        let fallback = candidates().compactMap { try? $0.get() }.max { $0.notAfter < $1.notAfter }
        if let fallback {
            problem =
                (problem ?? "no usable credential pair")
                + "; using the last good pair '\(fallback.certificate)' (serial \(fallback.serial))"
        }
        return (fallback, problem)
    }

    /// Writes a new pair and makes it current; returns it. Throws (leaving the current pair as it was)
    /// when anything cannot be written.
    public func install(certificatePEM: String, chainPEM: String?, key: PrivateKey) throws -> Pair {
        guard let certificate = try? Certificate(pem: certificatePEM), key.matches(certificate) else {
            throw AgentError("the certificate to install is unreadable or not for the new key; nothing was written")
        }
        try makeFolder(folder)
        let used = ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).compactMap { Int($0) }
        let name = String((used.max() ?? 0) + 1)
        let path = folder + "/" + name
        try makeFolder(path)
        try writeDurably(Array(try key.pem().utf8), to: path + "/key.pem", mode: 0o600)
        try writeDurably(Array(certificatePEM.utf8), to: path + "/cert.pem", mode: 0o644)
        if let chainPEM { try writeDurably(Array(chainPEM.utf8), to: path + "/chain.pem", mode: 0o644) }
        let pair = try check(certificate: path + "/cert.pem", key: path + "/key.pem", chain: path + "/chain.pem").get()
        try writeDurably(Array((name + "\n").utf8), to: pointerPath, mode: 0o644)
        return pair
    }

    /// Keeps the renewal client's last report beside the pairs, for `fleet-agent status` (best effort).
    public func writeNote(_ text: String) {
        try? makeFolder(folder)
        try? writeDurably(Array((text + "\n").utf8), to: folder + "/renewal-status", mode: 0o644)
    }

    /// The last report written by `writeNote`, if any.
    public func readNote() -> String? {
        (try? String(contentsOfFile: folder + "/renewal-status", encoding: .utf8)).map {
            String($0.prefix { $0 != "\n" })
        }
    }

    /// Removes renewed pairs other than `keep` (the current one and the one before it).
    public func prune(keeping keep: [Pair]) {
        let kept = Set(
            keep.map { pair in
                String(pair.certificate[..<(pair.certificate.lastIndex(of: "/") ?? pair.certificate.endIndex)])
            })
        for name in (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [] where Int(name) != nil {
            let path = folder + "/" + name
            if !kept.contains(path) { try? FileManager.default.removeItem(atPath: path) }
        }
    }

    // MARK: - Reading

    private func candidates() -> [Result<Pair, AgentError>] {
        var found = [check(certificate: original.certificate, key: original.key, chain: original.chain)]
        for name in (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [] where Int(name) != nil {
            let path = folder + "/" + name
            found.append(check(certificate: path + "/cert.pem", key: path + "/key.pem", chain: path + "/chain.pem"))
        }
        return found
    }

    /// Reads a pair back and checks that the key belongs to the certificate.
    func check(certificate: String, key: String, chain: String?) -> Result<Pair, AgentError> {
        let certificateText: String
        let keyText: String
        do throws(AgentError) {
            certificateText = try Self.read(certificate, what: "certificate")
            keyText = try Self.read(key, what: "key")
        } catch {
            return .failure(error)
        }
        guard let parsed = try? Certificate(pem: certificateText) else {
            return .failure(AgentError("the certificate file '\(certificate)' holds no PEM certificate"))
        }
        guard let privateKey = try? PrivateKey(pem: keyText) else {
            return .failure(AgentError("the key file '\(key)' holds no readable private key"))
        }
        guard privateKey.matches(parsed) else {
            return .failure(AgentError("the key '\(key)' does not belong to the certificate '\(certificate)'"))
        }
        let chainPath = chain.flatMap { FileManager.default.fileExists(atPath: $0) ? $0 : nil } ?? original.chain
        var information = stat()
        let written =
            stat(certificate, &information) == 0
            ? Date(timeIntervalSince1970: Double(information.st_mtim.tv_sec)) : parsed.notBefore
        let start = max(parsed.notBefore, min(written, Date(), parsed.notAfter))
        return .success(
            Pair(
                certificate: certificate, key: key, chain: chainPath, notBefore: parsed.notBefore,
                notAfter: parsed.notAfter, serial: (try? parsed.serialNumber.hex) ?? "?", lifetimeStart: start))
    }

    /// The text of `path`, or an error naming the file and why it cannot be read (missing, no permission).
    static func read(_ path: String, what: String) throws(AgentError) -> String {
        guard access(path, R_OK) == 0 else {
            let reason = String(cString: strerror(errno))
            throw AgentError("cannot read the \(what) file '\(path)': \(reason)")
        }
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw AgentError("the \(what) file '\(path)' is not PEM text")
        }
        return text
    }

    // MARK: - Writing

    private func makeFolder(_ path: String) throws {
        try AtomicFile.makeFolder(path, mode: 0o700)
    }

    /// Writes through a temporary file, fsynced and renamed over `path`, with the folder synced after.
    private func writeDurably(_ bytes: [UInt8], to path: String, mode: mode_t) throws {
        try AtomicFile.write(bytes, to: path, mode: mode)
    }
}
