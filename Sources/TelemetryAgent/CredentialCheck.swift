import PKI

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The start-up check of the files the agent is about to present and trust, so that a configuration that
/// can never connect is refused with its reason instead of retried forever with libmosquitto's vague text.
///
/// It looks at the pair `CredentialStore.current()` chose (after a renewal, the pair under
/// `renewal.folder/current`, or the last good one), not only at agent.json's `tls.cert` and `tls.key`.
/// An expired certificate is not refused: with a recovery credential the renewal client recovers through
/// it, and without one the operator may renew it while records are buffered.
public enum CredentialCheck {
    /// Throws the first problem no retry can cure; returns sentences about problems worth reporting.
    public static func verify(
        _ configuration: AgentConfiguration, pair: CredentialStore.Pair?, problem: String?, now: Date = Date()
    ) throws(AgentError) -> [String] {
        guard let pair else {
            throw AgentError(
                "\(problem ?? "no usable credential pair"); fix 'tls.cert' and 'tls.key' in the configuration")
        }
        let trusted = try certificates(in: configuration.tls.ca, setting: "tls.ca")
        guard trusted.contains(where: { $0.isIssued(by: $0) }) else {
            throw AgentError(
                "the CA file '\(configuration.tls.ca)' (tls.ca) holds no self-signed root certificate; "
                    + "point 'tls.ca' at the root that signs the broker's certificate (root.pem)")
        }
        if let chain = pair.chain { _ = try certificates(in: chain, setting: "tls.chain") }

        let certificate = try certificates(in: pair.certificate, setting: "tls.cert")[0]
        let name = certificate.subjectCommonName ?? ""
        guard name == configuration.device else {
            throw AgentError(
                "the certificate '\(pair.certificate)' is for '\(name)', not for the configured device "
                    + "'\(configuration.device)'; set 'device' to '\(name)' or use that device's bundle")
        }
        if let recoveryCert = configuration.tls.recoveryCert, let recoveryKey = configuration.tls.recoveryKey {
            let store = CredentialStore(configuration: configuration)
            if case .failure(let error) = store.check(certificate: recoveryCert, key: recoveryKey, chain: nil) {
                throw AgentError("the recovery credential is unusable: \(error.message)")
            }
        }

        guard pair.notAfter <= now else { return [] }
        if configuration.tls.recoveryCert != nil { return [] }
        return [
            "the certificate '\(pair.certificate)' expired at \(rfc3339(pair.notAfter)) and no recovery "
                + "credential is configured; records are buffered until it is renewed"
        ]
    }

    /// The certificates in the PEM file at `path`; throws naming the file and the setting when there are none.
    private static func certificates(in path: String, setting: String) throws(AgentError) -> [Certificate] {
        let text = try CredentialStore.read(path, what: "'\(setting)'")
        guard let found = try? Certificate.all(pem: text), !found.isEmpty else {
            throw AgentError("the file '\(path)' (\(setting)) holds no PEM certificate")
        }
        return found
    }
}
