import AccessPolicy
import Foundation
import TestSupport

/// The shipped example policies and principals, and small policy texts built in code.
enum PolicyFixtures {
    static var examplePolicies: String { packageRoot() + "/policies" }
    static var examplePrincipalsFile: String { packageRoot() + "/policies/principals/example.json" }
    static var fixtures: String { packageRoot() + "/Tests/AccessPolicyTests/Fixtures" }

    static func examples() throws -> (PolicySet, [Principal]) {
        (try PolicySet.load(path: examplePolicies), try PrincipalList.load(path: examplePrincipalsFile))
    }

    static func policies(_ text: String, file: String = "test.yaml") throws -> PolicySet {
        try PolicySet.parse([(file, text)])
    }

    static func device(_ id: String, _ groups: [String] = [], _ attributes: [String: String] = [:],
                       revoked: Bool = false) -> Principal {
        try! Principal(id: id, kind: .device, groups: groups, attributes: attributes, revoked: revoked)
    }

    static func service(_ id: String, revoked: Bool = false) -> Principal {
        try! Principal(id: id, kind: .service, revoked: revoked)
    }
}
