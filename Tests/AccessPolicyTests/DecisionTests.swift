import AccessPolicy
import Testing

@Suite struct DecisionTests {
    private let policies = try! PolicyFixtures.policies("""
        groups: { sensors: x, quiet: x, gateways: x }
        attributes: { site: x }
        policies:
          - name: own
            devices: all
            allow:
              publish: ['fleet/{device}/telemetry/#', 'fleet/{device}/status']
              subscribe: fleet/{device}/command
          - name: quiet
            groups: [quiet]
            deny:
              publish: fleet/{device}/telemetry/#
          - name: site
            groups: [gateways]
            allow: { publish: ['sites/{attr.site}/#', 'groups/{group}/hello'] }
          - name: consumer
            services: [consumer]
            allow: { subscribe: ['fleet/+/telemetry/#'] }
            deny: { subscribe: ['fleet/+/telemetry/secret/#'] }
        """)

    private func decide(_ principal: Principal?, _ action: Action, _ topic: String) throws -> Decision {
        try policies.decide(principal, action, topic)
    }

    @Test func aDeviceMayUseItsOwnSubtreeOnly() throws {
        let device = PolicyFixtures.device("s1", ["sensors"])
        #expect(try decide(device, .publish, "fleet/s1/telemetry/host").allowed)
        #expect(try decide(device, .publish, "fleet/s1/telemetry").allowed)
        #expect(try !decide(device, .publish, "fleet/s2/telemetry/host").allowed)
        #expect(try !decide(device, .subscribe, "fleet/s1/telemetry/host").allowed)
        #expect(try decide(device, .subscribe, "fleet/s1/command").allowed)
        #expect(try !decide(device, .publish, "fleet/s1//status").allowed)
    }

    @Test func denyWinsOverAllowAndNamesItsRule() throws {
        let quiet = PolicyFixtures.device("q1", ["quiet"])
        let decision = try decide(quiet, .publish, "fleet/q1/telemetry/host")
        #expect(!decision.allowed)
        #expect(decision.rule?.policy == "quiet")
        #expect(decision.rule?.location == SourceLocation(file: "test.yaml", line: 12))
        #expect(try decide(quiet, .publish, "fleet/q1/status").allowed)
    }

    @Test func whatNoRuleGrantsIsDenied() throws {
        let decision = try decide(PolicyFixtures.device("s1"), .publish, "other/topic")
        #expect(!decision.allowed)
        #expect(decision.rule == nil)
        #expect(try !decide(nil, .publish, "fleet/s1/status").allowed)
    }

    @Test func revokedPrincipalsAreDeniedEverything() throws {
        let revoked = PolicyFixtures.device("s1", ["sensors"], revoked: true)
        #expect(try !decide(revoked, .publish, "fleet/s1/status").allowed)
        #expect(try !decide(PolicyFixtures.service("consumer", revoked: true), .subscribe, "fleet/a/telemetry/x")
            .allowed)
    }

    @Test func attributeAndGroupTemplatesUseThePrincipalsValues() throws {
        let berlin = PolicyFixtures.device("gw1", ["gateways"], ["site": "berlin"])
        #expect(try decide(berlin, .publish, "sites/berlin/alarms").allowed)
        #expect(try !decide(berlin, .publish, "sites/lyon/alarms").allowed)
        #expect(try decide(berlin, .publish, "groups/gateways/hello").allowed)
        let noSite = PolicyFixtures.device("gw2", ["gateways"])
        #expect(try !decide(noSite, .publish, "sites/berlin/alarms").allowed)
    }

    @Test func aSubscriptionFilterIsAllowedOnlyWhenAllOfItIs() throws {
        let consumer = PolicyFixtures.service("consumer")
        #expect(try decide(consumer, .subscribe, "fleet/+/telemetry/host").allowed)
        #expect(try !decide(consumer, .subscribe, "fleet/+/telemetry/#").allowed)  // reaches the denied part
        #expect(try !decide(consumer, .subscribe, "fleet/#").allowed)
        #expect(try !decide(consumer, .subscribe, "fleet/a/telemetry/secret/x").allowed)
        #expect(throws: PolicyError.self) { try decide(consumer, .publish, "fleet/+/x") }
    }

    @Test func topicsDeeperThanMosquittoAcceptsAreDenied() throws {
        let device = PolicyFixtures.device("s1")
        let deep = "fleet/s1/telemetry/" + Array(repeating: "x", count: 198).joined(separator: "/")
        #expect(try !decide(device, .publish, deep).allowed)
        #expect(try decide(device, .publish, String(deep.dropLast(2))).allowed)
    }

    @Test func noClientMayPublishUnderSys() throws {
        let open = try PolicyFixtures.policies("policies: [{name: a, services: [s], allow: {publish: ['#']}}]")
        let decision = try open.decide(PolicyFixtures.service("s"), .publish, "$SYS/broker/x")
        #expect(!decision.allowed)
        #expect(decision.reason.contains("$SYS"))
    }
}
