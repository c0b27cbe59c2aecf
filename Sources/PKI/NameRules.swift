#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The rules for the host names, addresses and URLs that go into certificates and configuration.
///
/// These values reach OpenSSL's configuration syntax and the agent's configuration, so anything that could
/// change their meaning (spaces, commas, control characters) is refused with the offending value.
public enum NameRules {
    /// Throws unless `name` is a DNS name (letters, digits, '-' and '.'; '*' only when `wildcard`).
    public static func validateDNSName(_ name: String, wildcard: Bool = true) throws(PKIError) {
        let allowed = name.allSatisfy {
            $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "." || (wildcard && $0 == "*"))
        }
        guard !name.isEmpty, name.count <= 253, allowed, !name.hasPrefix("."), !name.contains("..") else {
            throw PKIError("the host name '\(name)' is not a valid DNS name")
        }
    }

    /// True when `address` is an IPv4 or IPv6 address.
    public static func isIPAddress(_ address: String) -> Bool {
        var buffer = [UInt8](repeating: 0, count: 16)
        return inet_pton(AF_INET, address, &buffer) == 1 || inet_pton(AF_INET6, address, &buffer) == 1
    }

    /// Throws unless `address` is an IPv4 or IPv6 address.
    public static func validateIPAddress(_ address: String) throws(PKIError) {
        guard isIPAddress(address) else { throw PKIError("'\(address)' is not an IPv4 or IPv6 address") }
    }

    /// Throws unless `host` is an IP address or a DNS name without wildcards (a host to connect to).
    public static func validateHost(_ host: String) throws(PKIError) {
        if isIPAddress(host) { return }
        do { try validateDNSName(host, wildcard: false) } catch {
            throw PKIError("'\(host)' is neither an IP address nor a valid host name")
        }
    }

    /// Throws unless `url` is an http(s) URL with a host and without spaces or commas.
    public static func validateURL(_ url: String) throws(PKIError) {
        let scheme = url.hasPrefix("http://") ? "http://" : url.hasPrefix("https://") ? "https://" : nil
        let rest = scheme.map { url.dropFirst($0.count) } ?? ""
        let authority = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        guard scheme != nil, !authority.isEmpty, url.allSatisfy({ $0.isASCII && !$0.isWhitespace && $0 != "," })
        else { throw PKIError("the URL '\(url)' must be an http(s) URL with a host and without spaces or commas") }
    }
}
