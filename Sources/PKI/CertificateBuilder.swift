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

/// Builds and signs certificates from a `CertificateTemplate`.
public enum CertificateBuilder {
    /// How far notBefore is set before the moment of issuance, for devices with slightly slow clocks.
    public static let backdateSeconds: Int64 = 300

    /// Issues a certificate for `subjectKey`, signed by `issuerKey`.
    ///
    /// `issuer` is nil for a self-signed root. notBefore is `now` minus `backdateSeconds` (never before
    /// the issuer's own notBefore); notAfter is `now + validitySeconds`, clamped to the issuer's notAfter.
    public static func issue(
        _ template: CertificateTemplate, subjectKey: PublicKey, issuer: Certificate?, issuerKey: PrivateKey,
        serial: SerialNumber, now: Date = Date()
    ) throws(PKIError) -> Certificate {
        ERR_clear_error()
        try validateNames(template)
        guard template.validitySeconds > 0 else { throw PKIError("a certificate's validity must be positive") }
        guard let handle = X509_new() else { throw PKIError.openSSL("cannot allocate a certificate") }
        let certificate = Certificate(owning: handle, subjectKey: subjectKey)

        let serialInteger = try serial.makeASN1Integer()
        defer { ASN1_INTEGER_free(serialInteger) }
        let subjectName = try ASN1Support.makeName(commonName: template.commonName, organization: template.organization)
        defer { X509_NAME_free(subjectName) }
        guard X509_set_version(handle, 2) == 1, X509_set_serialNumber(handle, serialInteger) == 1,
            X509_set_subject_name(handle, subjectName) == 1,
            X509_set_issuer_name(handle, issuer.map { X509_get_subject_name($0.handle) } ?? subjectName) == 1
        else { throw PKIError.openSSL("cannot fill the certificate") }
        // From a request, copy its encoded key: X509_set_pubkey's encode-and-decode round trip is the
        // most expensive step of issuance in OpenSSL 3.0.
        if let request = subjectKey.request {
            guard fleet_X509_copy_request_pubkey(handle, request.handle) == 1 else {
                throw PKIError.openSSL("cannot copy the request's public key")
            }
        } else {
            guard X509_set_pubkey(handle, subjectKey.handle) == 1 else {
                throw PKIError.openSSL("cannot set the public key")
            }
        }

        var notBefore = now.addingTimeInterval(-TimeInterval(backdateSeconds))
        var notAfter = now.addingTimeInterval(TimeInterval(template.validitySeconds))
        if let issuer {
            notBefore = max(notBefore, issuer.notBefore)
            notAfter = min(notAfter, issuer.notAfter)
            guard notAfter > now else {
                throw PKIError("the issuing CA '\(issuer.subject)' expired at \(issuer.notAfter); renew it first")
            }
        }
        try setValidity(handle, notBefore: notBefore, notAfter: notAfter)
        try addExtensions(
            template, to: handle, issuer: issuer?.handle ?? handle, issuerKey: issuerKey, subjectKey: subjectKey)

        guard X509_sign(handle, issuerKey.handle, issuerKey.signingDigest) > 0 else {
            throw PKIError.openSSL("cannot sign the certificate for '\(template.commonName)'")
        }
        return certificate
    }

    private static func setValidity(_ handle: OpaquePointer, notBefore: Date, notAfter: Date) throws(PKIError) {
        let start = try ASN1Support.makeTime(notBefore)
        defer { ASN1_TIME_free(start) }
        let end = try ASN1Support.makeTime(notAfter)
        defer { ASN1_TIME_free(end) }
        guard X509_set1_notBefore(handle, start) == 1, X509_set1_notAfter(handle, end) == 1 else {
            throw PKIError.openSSL("cannot set the validity period")
        }
    }

    private static func addExtensions(
        _ template: CertificateTemplate, to handle: OpaquePointer, issuer: OpaquePointer, issuerKey: PrivateKey,
        subjectKey: PublicKey
    ) throws(PKIError) {
        var context = X509V3_CTX()
        X509V3_set_ctx(&context, issuer, handle, nil, nil, 0)
        _ = X509V3_set_issuer_pkey(&context, issuerKey.handle)
        let isRSA = EVP_PKEY_get_base_id(subjectKey.handle) == EVP_PKEY_RSA

        var extensions: [(Int32, String)] = []
        switch template.profile {
        case .rootAuthority:
            extensions.append((NID_basic_constraints, "critical,CA:TRUE"))
            extensions.append((NID_key_usage, "critical,keyCertSign,cRLSign"))
        case .issuingAuthority:
            extensions.append((NID_basic_constraints, "critical,CA:TRUE,pathlen:0"))
            extensions.append((NID_key_usage, "critical,keyCertSign,cRLSign"))
        case .client:
            extensions.append((NID_basic_constraints, "critical,CA:FALSE"))
            extensions.append((NID_key_usage, "critical,digitalSignature"))
            extensions.append((NID_ext_key_usage, "clientAuth"))
        case .server:
            extensions.append((NID_basic_constraints, "critical,CA:FALSE"))
            extensions.append(
                (NID_key_usage, isRSA ? "critical,digitalSignature,keyEncipherment" : "critical,digitalSignature"))
            extensions.append((NID_ext_key_usage, "serverAuth"))
        }
        // The subject key identifier must exist before the authority key identifier is derived.
        extensions.append((NID_subject_key_identifier, "hash"))
        extensions.append((NID_authority_key_identifier, "keyid:always"))
        let alternativeNames =
            template.uris.map { "URI:\($0)" } + template.dnsNames.map { "DNS:\($0)" }
            + template.ipAddresses.map { "IP:\($0)" }
        if !alternativeNames.isEmpty {
            extensions.append((NID_subject_alt_name, alternativeNames.joined(separator: ",")))
        }
        if let url = template.issuerURL { extensions.append((NID_info_access, "caIssuers;URI:\(url)")) }
        if let url = template.crlURL { extensions.append((NID_crl_distribution_points, "URI:\(url)")) }

        for (nid, value) in extensions {
            guard let ext = X509V3_EXT_conf_nid(nil, &context, nid, value) else {
                throw PKIError.openSSL("cannot encode the extension \(String(cString: OBJ_nid2sn(nid))) = \(value)")
            }
            defer { X509_EXTENSION_free(ext) }
            guard X509_add_ext(handle, ext, -1) == 1 else { throw PKIError.openSSL("cannot add an extension") }
        }
    }

    /// Names reach OpenSSL's configuration syntax, so anything that could change its meaning is refused.
    private static func validateNames(_ template: CertificateTemplate) throws(PKIError) {
        for uri in template.uris {
            guard !uri.isEmpty, uri.allSatisfy({ $0.isASCII && !$0.isWhitespace && $0 != "," }), uri.contains(":")
            else {
                throw PKIError("the URI '\(uri)' is not allowed in a certificate")
            }
        }
        for name in template.dnsNames { try NameRules.validateDNSName(name) }
        for address in template.ipAddresses { try NameRules.validateIPAddress(address) }
        for url in [template.issuerURL, template.crlURL].compactMap({ $0 }) { try NameRules.validateURL(url) }
    }
}
