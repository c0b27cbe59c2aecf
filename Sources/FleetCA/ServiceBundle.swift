import Foundation
import PKI

/// The folder a service or server is configured from: `cert.pem`, `key.pem` (0600, when generated
/// here), `chain.pem` (issuing CA) and `root.pem`.
public enum ServiceBundle {
    /// Writes the files for `credential` into `folder` (created 0700 if missing).
    public static func write(_ credential: IssuedCredential, authority: CertificateAuthority, to folder: String) throws
    {
        try SecureFile.makeFolder(folder, mode: 0o700)
        if let key = credential.privateKey {
            try SecureFile.write(key.pem(), to: folder + "/key.pem", mode: 0o600)
        }
        try SecureFile.write(credential.record.pem, to: folder + "/cert.pem", mode: 0o644)
        try SecureFile.write(authority.chainPEM, to: folder + "/chain.pem", mode: 0o644)
        try SecureFile.write(authority.rootPEM, to: folder + "/root.pem", mode: 0o644)
    }
}
