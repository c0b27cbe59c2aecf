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

/// Converts between `Date` and OpenSSL's ASN1_TIME and X509_NAME values.
enum ASN1Support {
    /// A new ASN1_TIME for `date`. OpenSSL's `ASN1_TIME_set` picks UTCTime for 1950-2049 and
    /// GeneralizedTime from 2050, as RFC 5280 4.1.2.5 requires. The caller frees it.
    static func makeTime(_ date: Date) throws(PKIError) -> UnsafeMutablePointer<ASN1_TIME> {
        let seconds = time_t(date.timeIntervalSince1970.rounded(.down))
        guard let time = ASN1_TIME_set(nil, seconds) else { throw PKIError.openSSL("cannot encode the time \(date)") }
        return time
    }

    /// The moment an ASN1_TIME names.
    static func date(_ time: UnsafePointer<ASN1_TIME>?) -> Date? {
        guard let time else { return nil }
        var parts = tm()
        guard ASN1_TIME_to_tm(time, &parts) == 1 else { return nil }
        return Date(timeIntervalSince1970: TimeInterval(timegm(&parts)))
    }

    /// A new X509_NAME with `commonName` and, when given, `organization`. The caller frees it.
    static func makeName(commonName: String, organization: String? = nil) throws(PKIError) -> OpaquePointer {
        guard let name = X509_NAME_new() else { throw PKIError.openSSL("cannot allocate a name") }
        var entries: [(String, String)] = []
        if let organization { entries.append(("O", organization)) }
        entries.append(("CN", commonName))
        for (field, value) in entries {
            let bytes = Array(value.utf8)
            guard !bytes.isEmpty, bytes.count <= 64 else {
                X509_NAME_free(name)
                throw PKIError("the \(field) '\(value)' must be 1 to 64 bytes long")
            }
            guard X509_NAME_add_entry_by_txt(name, field, MBSTRING_UTF8, bytes, Int32(bytes.count), -1, 0) == 1 else {
                X509_NAME_free(name)
                throw PKIError.openSSL("cannot set the \(field) '\(value)'")
            }
        }
        return name
    }

    /// Every common name in `name`, as UTF-8 strings, in order.
    static func commonNames(_ name: OpaquePointer?) -> [String] {
        guard let name else { return [] }
        var result: [String] = []
        var index: Int32 = -1
        while true {
            index = X509_NAME_get_index_by_NID(name, NID_commonName, index)
            if index < 0 { break }
            guard let entry = X509_NAME_get_entry(name, index), let data = X509_NAME_ENTRY_get_data(entry) else {
                continue
            }
            result.append(string(data) ?? "")
        }
        return result
    }

    /// The number of attributes in a name (zero for an empty subject).
    static func entryCount(_ name: OpaquePointer?) -> Int {
        guard let name else { return 0 }
        return Int(X509_NAME_entry_count(name))
    }

    /// A name on one line in RFC 2253 form (`CN=x,O=y`).
    static func oneLine(_ name: OpaquePointer?) -> String {
        guard let name, let bio = try? MemoryBIO() else { return "" }
        _ = X509_NAME_print_ex(bio.handle, name, 0, fleet_XN_FLAG_RFC2253())
        return bio.text
    }

    /// An ASN1 string's contents as UTF-8.
    static func string(_ value: UnsafePointer<ASN1_STRING>) -> String? {
        var output: UnsafeMutablePointer<UInt8>?
        let length = ASN1_STRING_to_UTF8(&output, value)
        guard length >= 0, let output else { return nil }
        defer { fleet_OPENSSL_free(output) }
        return String(decoding: UnsafeBufferPointer(start: output, count: Int(length)), as: UTF8.self)
    }

    /// Raw bytes of an ASN1 string (for IP addresses).
    static func bytes(_ value: UnsafePointer<ASN1_STRING>) -> [UInt8] {
        let length = Int(ASN1_STRING_length(value))
        guard length > 0, let data = ASN1_STRING_get0_data(value) else { return [] }
        return Array(UnsafeBufferPointer(start: data, count: length))
    }

    /// Text form of an IPv4 or IPv6 address given as 4 or 16 octets.
    static func ipText(_ bytes: [UInt8]) -> String {
        var buffer = [CChar](repeating: 0, count: 64)
        let family = bytes.count == 4 ? AF_INET : AF_INET6
        guard bytes.count == 4 || bytes.count == 16, inet_ntop(family, bytes, &buffer, 64) != nil else {
            return hexString(bytes)
        }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
