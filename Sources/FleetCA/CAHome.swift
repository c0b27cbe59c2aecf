import Foundation

/// The paths of a CA home folder (see BRIEF): inventory, root and issuing material, CRL, config.
public struct CAHome: Sendable, Equatable {
    /// The folder itself.
    public let path: String

    public init(path: String) { self.path = path }

    /// `--home` if given, else `$FLEET_HOME`, else `./fleet`.
    public static func resolve(_ option: String?) -> CAHome {
        if let option, !option.isEmpty { return CAHome(path: option) }
        if let environment = ProcessInfo.processInfo.environment["FLEET_HOME"], !environment.isEmpty {
            return CAHome(path: environment)
        }
        return CAHome(path: "fleet")
    }

    public var inventoryPath: String { path + "/inventory.db" }
    public var rootFolder: String { path + "/root" }
    public var rootCertificatePath: String { path + "/root/root.pem" }
    public var rootKeyPath: String { path + "/root/root.key" }
    public var issuingFolder: String { path + "/issuing" }
    public var issuingCertificatePath: String { path + "/issuing/issuing.pem" }
    public var issuingKeyPath: String { path + "/issuing/issuing.key" }
    public var crlPath: String { path + "/crl.pem" }
    public var configurationPath: String { path + "/config.json" }
}
