import AccessPolicy
import Testing

@Suite struct TopicFilterTests {
    private func matches(_ filter: String, _ topic: String) throws -> Bool {
        try TopicFilter(filter).matches(topic)
    }

    @Test func plusMatchesExactlyOneLevelIncludingAnEmptyOne() throws {
        #expect(try matches("a/+/c", "a/b/c"))
        #expect(try matches("a/+/c", "a//c"))
        #expect(try !matches("a/+/c", "a/b/x/c"))
        #expect(try !matches("a/+", "a"))
        #expect(try matches("+", ""))  // not a valid topic, but the level rule holds
        #expect(try matches("+/+", "/x"))
    }

    @Test func hashMatchesTheParentAndEveryLevelBelow() throws {
        #expect(try matches("a/#", "a"))
        #expect(try matches("a/#", "a/"))
        #expect(try matches("a/#", "a/b/c/d"))
        #expect(try !matches("a/#", "ab"))
        #expect(try matches("#", "x/y"))
        #expect(try matches("#", "/leading"))
    }

    @Test func leadingWildcardsNeverMatchDollarTopics() throws {
        #expect(try !matches("#", "$SYS/broker/uptime"))
        #expect(try !matches("+/broker/uptime", "$SYS/broker/uptime"))
        #expect(try matches("$SYS/#", "$SYS/broker/uptime"))
        #expect(try matches("$SYS/+/uptime", "$SYS/broker/uptime"))
        #expect(try matches("a/#", "a/$b"))
    }

    @Test func emptyLevelsAreSignificant() throws {
        #expect(try !matches("a/b", "a//b"))
        #expect(try matches("a//b", "a//b"))
        #expect(try !matches("/a", "a"))
        #expect(try !matches("a/b", "a/b/"))
    }

    @Test func invalidFiltersAreRefusedWithTheFilterNamed() {
        for bad in ["a/#/b", "#/a", "a/b#", "+x", "a/x+/b", "a/#x", ""] {
            #expect(throws: PolicyError.self) { try TopicFilter(bad) }
        }
        do {
            _ = try TopicFilter("a/#/b")
            Issue.record("a/#/b was accepted")
        } catch {
            #expect(error.message.contains("'a/#/b'"))
        }
    }

    @Test func coverAndIntersectFollowMatching() throws {
        let all = try TopicFilter("fleet/+/telemetry/#")
        #expect(all.covers(try TopicFilter("fleet/a/telemetry/x")))
        #expect(all.covers(try TopicFilter("fleet/+/telemetry")))
        #expect(!all.covers(try TopicFilter("fleet/#")))
        #expect(all.intersects(try TopicFilter("fleet/#")))
        #expect(!all.intersects(try TopicFilter("fleet/a/status")))
        #expect(try TopicFilter("a/#").intersects(try TopicFilter("a")))
        #expect(try !TopicFilter("#").intersects(try TopicFilter("$SYS/x")))
        #expect(try !TopicFilter("#").covers(try TopicFilter("$SYS/#")))
    }

    @Test func topicNamesWithWildcardsAreRefused() {
        #expect(throws: PolicyError.self) { try TopicFilter.validateTopicName("a/+") }
        #expect(throws: PolicyError.self) { try TopicFilter.validateTopicName("a/#") }
        #expect(throws: PolicyError.self) { try TopicFilter.validateTopicName("") }
    }
}
