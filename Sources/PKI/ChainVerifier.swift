import COpenSSL
import CShim

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

#if canImport(Glibc)
    import Glibc
#endif

/// Verifies a certificate up to trusted roots with OpenSSL's X509_verify_cert, in strict mode.
public enum ChainVerifier {
    /// The purpose the leaf must be fit for.
    public enum Purpose: Sendable {
        case tlsClient, tlsServer, any
    }

    /// Throws unless `leaf` chains to one of `roots` through `intermediates` at `time`, is fit for
    /// `purpose`, and (when `crls` is not empty) is not revoked. The leaf must then be covered by a CRL
    /// from `crls`; with `checkWholeChain` every certificate below the root must be.
    public static func verify(
        _ leaf: Certificate, intermediates: [Certificate] = [], roots: [Certificate],
        crls: [RevocationList] = [], checkWholeChain: Bool = false, purpose: Purpose = .any, at time: Date? = nil
    ) throws(PKIError) {
        ERR_clear_error()
        let leaf = try leaf.verifiable()
        let intermediates = try intermediates.map { certificate throws(PKIError) in try certificate.verifiable() }
        let roots = try roots.map { certificate throws(PKIError) in try certificate.verifiable() }
        guard let store = X509_STORE_new() else { throw PKIError.openSSL("out of memory") }
        defer { X509_STORE_free(store) }
        for root in roots { X509_STORE_add_cert(store, root.handle) }
        for crl in crls { X509_STORE_add_crl(store, crl.handle) }

        guard let untrusted = fleet_sk_X509_new_null() else { throw PKIError.openSSL("out of memory") }
        defer { fleet_sk_X509_free(untrusted) }
        for certificate in intermediates { _ = fleet_sk_X509_push(untrusted, certificate.handle) }

        guard let context = X509_STORE_CTX_new() else { throw PKIError.openSSL("out of memory") }
        defer { X509_STORE_CTX_free(context) }
        guard X509_STORE_CTX_init(context, store, leaf.handle, untrusted) == 1 else {
            throw PKIError.openSSL("cannot start chain verification")
        }
        var flags = UInt(X509_V_FLAG_X509_STRICT)
        if !crls.isEmpty { flags |= UInt(X509_V_FLAG_CRL_CHECK) }
        if !crls.isEmpty && checkWholeChain { flags |= UInt(X509_V_FLAG_CRL_CHECK_ALL) }
        X509_STORE_CTX_set_flags(context, flags)
        switch purpose {
        case .tlsClient: _ = X509_STORE_CTX_set_purpose(context, X509_PURPOSE_SSL_CLIENT)
        case .tlsServer: _ = X509_STORE_CTX_set_purpose(context, X509_PURPOSE_SSL_SERVER)
        case .any: break
        }
        if let time { X509_STORE_CTX_set_time(context, 0, time_t(time.timeIntervalSince1970)) }

        guard X509_verify_cert(context) == 1 else {
            let code = X509_STORE_CTX_get_error(context)
            let reason = String(cString: X509_verify_cert_error_string(Int(code)))
            ERR_clear_error()
            throw PKIError("the certificate '\(leaf.subject)' (serial \(leaf.serialText)) does not verify: \(reason)")
        }
    }
}
