import PKI

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Reads a PEM certificate's notAfter for the status message.
enum CertificateExpiry {
    /// The notAfter of the first certificate in `path`, or nil when the file holds none.
    static func notAfter(path: String) -> Date? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8),
            let certificate = try? Certificate(pem: text)
        else { return nil }
        return certificate.notAfter
    }
}

/// Formats `date` as RFC 3339 in UTC, to the second.
func rfc3339(_ date: Date) -> String {
    var seconds = time_t(date.timeIntervalSince1970)
    var parts = tm()
    gmtime_r(&seconds, &parts)
    func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
    return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T"
        + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec))Z"
}

#if canImport(Glibc)
    import Glibc
#endif
