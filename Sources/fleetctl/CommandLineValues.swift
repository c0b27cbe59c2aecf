import ArgumentParsing
import FleetCA
import PKI

/// Checks of the values typed on the command line. Every refusal is a `UsageError` (exit status 2), so a
/// malformed id, group, attribute, host or URL is told apart from a failure of the operation (exit 1).
enum CommandLineValues {
    /// A device id or service name (`what` names it in the message).
    static func identity(_ name: String, as what: String = "device id") throws(UsageError) {
        do { try IdentityName.validate(name, as: what) } catch { throw UsageError(error.message) }
    }

    /// `--group` values.
    static func groups(_ names: [String]) throws(UsageError) -> [String] {
        for name in names { try identity(name, as: "group") }
        return names
    }

    /// `k=v` words as a dictionary; a word without `=`, a bad key or a bad value is refused, naming it.
    static func attributes(_ words: [String]) throws(UsageError) -> [String: String] {
        var attributes: [String: String] = [:]
        for word in words {
            guard let equals = word.firstIndex(of: "="), equals != word.startIndex else {
                throw UsageError("attribute '\(word)' must be written as key=value")
            }
            let name = String(word[..<equals])
            let value = String(word[word.index(after: equals)...])
            do { try DeviceAttribute.validate(name: name, value: value) } catch { throw UsageError(error.message) }
            attributes[name] = value
        }
        return attributes
    }

    /// `--host` values: DNS names for a certificate's SAN.
    static func dnsNames(_ names: [String]) throws(UsageError) -> [String] {
        for name in names {
            do { try NameRules.validateDNSName(name) } catch { throw UsageError(error.message) }
        }
        return names
    }

    /// `--ip` values.
    static func ipAddresses(_ addresses: [String]) throws(UsageError) -> [String] {
        for address in addresses {
            do { try NameRules.validateIPAddress(address) } catch { throw UsageError(error.message) }
        }
        return addresses
    }

    /// A host to connect to: an IP address or a DNS name.
    static func host(_ host: String?, option: String) throws(UsageError) -> String? {
        guard let host else { return nil }
        do { try NameRules.validateHost(host) } catch { throw UsageError("\(option): \(error.message)") }
        return host
    }

    /// An http(s) URL.
    static func url(_ url: String?, option: String) throws(UsageError) -> String? {
        guard let url else { return nil }
        do { try NameRules.validateURL(url) } catch { throw UsageError("\(option): \(error.message)") }
        return url
    }
}
