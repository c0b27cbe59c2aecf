/// Turns the YAML tree of policy files into rules, collecting every problem with its file and line.
///
/// File keys: `groups` (name: description), `attributes` (name: description), `policies` (a list).
/// Policy keys: `name`, `description`, `devices` (`all` or a list of ids), `groups`, `services`,
/// `allow` and `deny` (each a mapping of `publish`/`subscribe` to a topic filter or a list of them).
struct PolicyFileReader {
    private(set) var rules: [PolicyRule] = []
    private(set) var groups: [String: SourceLocation] = [:]
    private(set) var attributes: [String: SourceLocation] = [:]
    private(set) var errors: [PolicyError] = []
    private var policyNames: [String: SourceLocation] = [:]

    mutating func read(_ text: String, file: String) {
        let root: YAMLNode?
        do {
            root = try YAMLParser(text: text, file: file).parseDocument()
        } catch {
            errors.append(error)
            return
        }
        guard let root else { return }
        guard case .mapping(let pairs) = root.value else {
            fail("the top level must be a mapping with 'policies', 'groups' or 'attributes'", file, root)
            return
        }
        for (key, value) in pairs {
            switch key.scalar {
            case "groups":
                var table = groups
                declare(value, into: &table, what: "group name", file: file)
                groups = table
            case "attributes":
                var table = attributes
                declare(value, into: &table, what: "attribute name", file: file)
                attributes = table
            case "policies":
                guard case .sequence(let items) = value.value else {
                    fail("'policies' must be a list, not \(value.kindName)", file, value)
                    continue
                }
                for item in items { readPolicy(item, file: file) }
            default:
                fail("unknown key '\(key.scalar ?? "?")'; a policy file has 'policies', 'groups' and 'attributes'",
                    file, key)
            }
        }
    }

    private mutating func declare(
        _ node: YAMLNode, into table: inout [String: SourceLocation], what: String, file: String
    ) {
        guard case .mapping(let pairs) = node.value else {
            fail("expected a mapping of \(what)s to descriptions, not \(node.kindName)", file, node)
            return
        }
        for (key, _) in pairs {
            guard let name = key.scalar else { continue }
            do {
                try Principal.validateName(name, what: what)
                table[name] = table[name] ?? SourceLocation(file: file, line: key.line)
            } catch {
                fail(error.message, file, key)
            }
        }
    }

    private mutating func readPolicy(_ node: YAMLNode, file: String) {
        guard case .mapping(let pairs) = node.value else {
            fail("each policy must be a mapping, not \(node.kindName)", file, node)
            return
        }
        var name: String?
        var allDevices = false
        var groups: [String] = [], devices: [String] = [], services: [String] = []
        var grants: [(Effect, YAMLNode)] = []
        for (key, value) in pairs {
            switch key.scalar {
            case "name":
                name = value.scalar
                if name == nil || name!.isEmpty { fail("'name' must be a non-empty text", file, value) }
            case "description": continue
            case "devices":
                if value.scalar == "all" {
                    allDevices = true
                } else {
                    devices = names(value, what: "device id", file: file)
                }
            case "groups": groups = names(value, what: "group name", file: file)
            case "services": services = names(value, what: "service name", file: file)
            case "allow": grants.append((.allow, value))
            case "deny": grants.append((.deny, value))
            default:
                fail("unknown policy key '\(key.scalar ?? "?")'; use name, description, devices, groups, "
                    + "services, allow or deny", file, key)
            }
        }
        guard let name, !name.isEmpty else {
            fail("a policy needs a 'name'", file, node)
            return
        }
        if let earlier = policyNames[name] {
            fail("policy name '\(name)' is already used at \(earlier)", file, node)
        }
        policyNames[name] = SourceLocation(file: file, line: node.line)
        let subject = Subject(allDevices: allDevices, groups: groups, devices: devices, services: services)
        guard allDevices || !groups.isEmpty || !devices.isEmpty || !services.isEmpty else {
            fail("policy '\(name)' names no principal; give 'devices', 'groups' or 'services'", file, node)
            return
        }
        guard !grants.isEmpty else {
            fail("policy '\(name)' has neither 'allow' nor 'deny'", file, node)
            return
        }
        for (effect, body) in grants { readGrants(body, effect: effect, policy: name, subject: subject, file: file) }
    }

    private mutating func readGrants(_ node: YAMLNode, effect: Effect, policy: String, subject: Subject, file: String) {
        guard case .mapping(let pairs) = node.value else {
            fail("'\(effect.rawValue)' must map 'publish' and 'subscribe' to topic filters", file, node)
            return
        }
        for (key, value) in pairs {
            guard let action = key.scalar.flatMap(Action.init(rawValue:)) else {
                fail("unknown action '\(key.scalar ?? "?")'; use 'publish' or 'subscribe'", file, key)
                continue
            }
            let items: [YAMLNode]
            switch value.value {
            case .scalar: items = [value]
            case .sequence(let list): items = list
            case .mapping:
                fail("'\(action.rawValue)' must be a topic filter or a list of them", file, value)
                continue
            }
            for item in items {
                addRule(item, effect: effect, action: action, policy: policy, subject: subject, file: file)
            }
        }
    }

    private mutating func addRule(
        _ item: YAMLNode, effect: Effect, action: Action, policy: String, subject: Subject, file: String
    ) {
        guard let text = item.scalar else {
            fail("a topic filter must be a text, not \(item.kindName)", file, item)
            return
        }
        do {
            let template = try TopicTemplate(text)
            if template.usesPlaceholders && !subject.includesDevices {
                fail("topic '\(text)' uses a placeholder, but policy '\(policy)' names only services; "
                    + "placeholders take a device's values", file, item)
                return
            }
            if template.usesGroup && subject.groups.isEmpty && !subject.allDevices {
                fail("topic '\(text)' uses {group}, but policy '\(policy)' names no groups", file, item)
                return
            }
            rules.append(PolicyRule(policy: policy, effect: effect, action: action, template: template,
                subject: subject, location: SourceLocation(file: file, line: item.line)))
        } catch {
            fail(error.message, file, item)
        }
    }

    private mutating func names(_ node: YAMLNode, what: String, file: String) -> [String] {
        let items: [YAMLNode]
        switch node.value {
        case .scalar: items = [node]
        case .sequence(let list): items = list
        case .mapping:
            fail("expected a \(what) or a list of them, not a mapping", file, node)
            return []
        }
        var result: [String] = []
        for item in items {
            guard let name = item.scalar else {
                fail("expected a \(what), not \(item.kindName)", file, item)
                continue
            }
            do {
                try Principal.validateName(name, what: what)
                result.append(name)
            } catch {
                fail(error.message, file, item)
            }
        }
        return result
    }

    private mutating func fail(_ message: String, _ file: String, _ node: YAMLNode) {
        errors.append(PolicyError(message, file: file, line: node.line, column: node.column))
    }
}
