import COpenSSL
import CShim

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// An X.509 certificate. Owns one `X509*` and frees it in `deinit`.
public final class Certificate: @unchecked Sendable {  // the X509 is never mutated after init
    let handle: OpaquePointer
    /// The subject key of a certificate built here, whose X509 carries only the encoded key (see
    /// `fleet_X509_copy_request_pubkey`); nil for certificates read from PEM or DER.
    private let builtSubjectKey: PublicKey?

    init(owning handle: OpaquePointer, subjectKey: PublicKey? = nil) {
        self.handle = handle
        self.builtSubjectKey = subjectKey
    }

    /// This certificate as OpenSSL's verifier needs it: itself when read from PEM or DER; for one built
    /// here from a request, a copy re-read from its DER, so OpenSSL holds the decoded subject key.
    func verifiable() throws(PKIError) -> Certificate {
        builtSubjectKey == nil ? self : try Certificate(der: der)
    }

    /// The subject's EVP_PKEY, decoded by OpenSSL or remembered from building.
    var subjectKeyHandle: OpaquePointer? {
        if let builtSubjectKey { return builtSubjectKey.handle }
        return X509_get0_pubkey(handle)
    }

    deinit { X509_free(handle) }

    /// Reads the first certificate of a PEM text.
    public convenience init(pem: String) throws(PKIError) {
        ERR_clear_error()
        let bio = try MemoryBIO(Array(pem.utf8))
        guard let handle = PEM_read_bio_X509(bio.handle, nil, nil, nil) else {
            throw PKIError.openSSL("cannot read the certificate PEM")
        }
        self.init(owning: handle)
    }

    /// Reads one DER certificate.
    public convenience init(der: [UInt8]) throws(PKIError) {
        ERR_clear_error()
        guard let handle = decodeDER(der, { d2i_X509(nil, $0, $1) }) else {
            throw PKIError.openSSL("cannot read the DER certificate")
        }
        self.init(owning: handle)
    }

    /// Every certificate in a PEM text, in order (a chain file).
    public static func all(pem: String) throws(PKIError) -> [Certificate] {
        ERR_clear_error()
        let bio = try MemoryBIO(Array(pem.utf8))
        var result: [Certificate] = []
        while let handle = PEM_read_bio_X509(bio.handle, nil, nil, nil) {
            result.append(Certificate(owning: handle))
        }
        ERR_clear_error()  // the loop ends on a "no start line" error
        guard !result.isEmpty else { throw PKIError("no certificate found in the PEM text") }
        return result
    }

    /// The certificate as PEM.
    public var pem: String {
        get throws(PKIError) {
            let bio = try MemoryBIO()
            guard PEM_write_bio_X509(bio.handle, handle) == 1 else {
                throw PKIError.openSSL("cannot write a certificate")
            }
            return bio.text
        }
    }

    /// The certificate as DER.
    public var der: [UInt8] {
        get throws(PKIError) { try encodeDER { i2d_X509(handle, $0) } }
    }

    /// The serial number. Throws for zero, negative or oversized serials (foreign certificates), naming the value.
    public var serialNumber: SerialNumber {
        get throws(PKIError) {
            try SerialNumber.read(X509_get0_serialNumber(handle), of: "the certificate '\(subject)'")
        }
    }

    /// The serial as hexadecimal text exactly as encoded, `-` first when negative (for display only).
    public var serialText: String {
        guard let number = ASN1_INTEGER_to_BN(X509_get0_serialNumber(handle), nil) else { return "?" }
        defer { BN_free(number) }
        var magnitude = [UInt8](repeating: 0, count: Int((BN_num_bits(number) + 7) / 8))
        if !magnitude.isEmpty { BN_bn2bin(number, &magnitude) }
        let text = magnitude.isEmpty ? "00" : hexString(magnitude)
        return BN_is_negative(number) != 0 ? "-" + text : text
    }

    /// The subject in RFC 2253 form.
    public var subject: String { ASN1Support.oneLine(X509_get_subject_name(handle)) }

    /// The issuer in RFC 2253 form.
    public var issuer: String { ASN1Support.oneLine(X509_get_issuer_name(handle)) }

    /// The subject's common name, when it has exactly one.
    public var subjectCommonName: String? {
        let names = ASN1Support.commonNames(X509_get_subject_name(handle))
        return names.count == 1 ? names[0] : nil
    }

    /// The start of the validity period.
    public var notBefore: Date { ASN1Support.date(X509_get0_notBefore(handle)) ?? .distantPast }

    /// The end of the validity period.
    public var notAfter: Date { ASN1Support.date(X509_get0_notAfter(handle)) ?? .distantPast }

    /// SHA-256 of the DER encoding, lowercase hexadecimal.
    public var fingerprintSHA256: String {
        var output = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        guard X509_digest(handle, EVP_sha256(), &output, &length) == 1 else { return "" }
        return hexString(Array(output.prefix(Int(length))))
    }

    /// True when basicConstraints says CA:TRUE.
    public var isCertificateAuthority: Bool {
        X509_check_ca(handle) != 0 && X509_get_extension_flags(handle) & UInt32(EXFLAG_CA) != 0
    }

    /// The subject public key.
    public var publicKey: PublicKey {
        get throws(PKIError) {
            guard let key = subjectKeyHandle else {
                throw PKIError.openSSL("the certificate has no readable public key")
            }
            return PublicKey(retaining: key)
        }
    }

    /// The URIs in the subject alternative name.
    public var subjectAlternativeURIs: [String] { alternativeNames(GEN_URI) }

    /// The DNS names in the subject alternative name.
    public var subjectAlternativeDNSNames: [String] { alternativeNames(GEN_DNS) }

    /// The IP addresses in the subject alternative name, in text form.
    public var subjectAlternativeIPAddresses: [String] { alternativeNames(GEN_IPADD) }

    /// True when `issuer`'s name and key identifiers match this certificate's issuer fields and
    /// `issuer`'s key verifies this certificate's signature.
    public func isIssued(by issuer: Certificate) -> Bool {
        guard let issuer = try? issuer.verifiable(), let subject = try? verifiable(),
              X509_check_issued(issuer.handle, subject.handle) == X509_V_OK, let key = issuer.subjectKeyHandle
        else {
            ERR_clear_error()
            return false
        }
        defer { ERR_clear_error() }
        return X509_verify(handle, key) == 1
    }

    /// The facts about this certificate that the broker and agent sides show and check.
    public var summary: CertificateSummary {
        CertificateSummary(
            subject: subject, commonName: subjectCommonName, issuer: issuer,
            serial: serialText, notBefore: notBefore, notAfter: notAfter,
            uris: subjectAlternativeURIs, dnsNames: subjectAlternativeDNSNames,
            ipAddresses: subjectAlternativeIPAddresses, fingerprintSHA256: fingerprintSHA256,
            isCertificateAuthority: isCertificateAuthority,
            keyType: subjectKeyHandle.map(PrivateKey.describe) ?? "unknown"
        )
    }

    private func alternativeNames(_ wanted: Int32) -> [String] {
        guard let raw = X509_get_ext_d2i(handle, NID_subject_alt_name, nil, nil) else { return [] }
        let names = OpaquePointer(raw)
        defer { fleet_GENERAL_NAMES_free(names) }
        var result: [String] = []
        for index in 0..<fleet_sk_GENERAL_NAME_num(names) {
            guard let name = fleet_sk_GENERAL_NAME_value(names, index) else { continue }
            var type: Int32 = 0
            guard let value = GENERAL_NAME_get0_value(name, &type), type == wanted else { continue }
            let string = value.assumingMemoryBound(to: ASN1_STRING.self)
            if wanted == GEN_IPADD {
                result.append(ASN1Support.ipText(ASN1Support.bytes(string)))
            } else {
                result.append(ASN1Support.string(string) ?? "")
            }
        }
        return result
    }
}
