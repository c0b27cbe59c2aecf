import Foundation
import Provisioning
import Testing

@Suite struct MosquittoConfigurationTests {
    @Test func configurationNamesEverySecuritySetting() {
        let text = MosquittoConfiguration(
            port: 18883, caFile: "/b/ca.pem", certFile: "/b/server.pem", keyFile: "/b/server.key",
            crlFile: "/b/crl.pem", aclFile: "/b/acl.conf"
        ).render()
        for line in [
            "listener 18883 127.0.0.1", "tls_version tlsv1.2", "require_certificate true",
            "use_identity_as_username true", "use_username_as_clientid true", "crlfile /b/crl.pem",
            "acl_file /b/acl.conf", "allow_anonymous false", "max_queued_messages 0",
        ] {
            #expect(text.contains(line + "\n"), "missing '\(line)'")
        }
        #expect(text.range(of: "listener")!.lowerBound < text.range(of: "cafile")!.lowerBound)
    }
}
