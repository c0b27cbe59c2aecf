import CYAML

/// Parses YAML text (JSON is a subset libyaml accepts) into a `YAMLNode` tree, using libyaml's event API.
///
/// Owns one `yaml_parser_t` and a private copy of the input bytes that the parser reads from; both are
/// freed in `deinit`. A parser is used for one input only.
public final class YAMLParser {
    private let parser: UnsafeMutablePointer<yaml_parser_t>
    private let input: UnsafeMutableBufferPointer<UInt8>
    private let file: String

    /// Prepares to parse `text`; `file` names the source in errors.
    public init(text: String, file: String) throws(PolicyError) {
        self.file = file
        parser = UnsafeMutablePointer<yaml_parser_t>.allocate(capacity: 1)
        let bytes = Array(text.utf8)
        input = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: max(bytes.count, 1))
        _ = input.initialize(from: bytes)
        guard yaml_parser_initialize(parser) == 1 else {
            parser.deallocate()
            input.deallocate()
            throw PolicyError("libyaml could not allocate a parser", file: file, line: 0)
        }
        yaml_parser_set_input_string(parser, input.baseAddress, bytes.count)
    }

    deinit {
        yaml_parser_delete(parser)
        parser.deallocate()
        input.deallocate()
    }

    /// Parses the single document of the input; nil when the input holds no document at all.
    public func parseDocument() throws(PolicyError) -> YAMLNode? {
        var root: YAMLNode?
        var documents = 0
        while true {
            let event = try nextEvent()
            defer { releaseEvent(event) }
            switch event.pointee.type {
            case YAML_STREAM_END_EVENT:
                return root
            case YAML_DOCUMENT_START_EVENT:
                documents += 1
                if documents > 1 {
                    throw PolicyError("holds more than one YAML document; use one file per document",
                        file: file, line: line(of: event))
                }
            case YAML_STREAM_START_EVENT, YAML_DOCUMENT_END_EVENT:
                continue
            default:
                root = try node(startingWith: event)
            }
        }
    }

    private func node(startingWith event: UnsafeMutablePointer<yaml_event_t>) throws(PolicyError) -> YAMLNode {
        let line = line(of: event), column = Int(event.pointee.start_mark.column) + 1
        switch event.pointee.type {
        case YAML_SCALAR_EVENT:
            let scalar = event.pointee.data.scalar
            if scalar.anchor != nil { throw aliasError(line) }
            let buffer = UnsafeBufferPointer(start: scalar.value, count: scalar.length)
            return YAMLNode(value: .scalar(String(decoding: buffer, as: UTF8.self)), line: line, column: column)
        case YAML_SEQUENCE_START_EVENT:
            if event.pointee.data.sequence_start.anchor != nil { throw aliasError(line) }
            var items: [YAMLNode] = []
            while true {
                let next = try nextEvent()
                defer { releaseEvent(next) }
                if next.pointee.type == YAML_SEQUENCE_END_EVENT { break }
                items.append(try node(startingWith: next))
            }
            return YAMLNode(value: .sequence(items), line: line, column: column)
        case YAML_MAPPING_START_EVENT:
            if event.pointee.data.mapping_start.anchor != nil { throw aliasError(line) }
            var pairs: [(key: YAMLNode, value: YAMLNode)] = []
            while true {
                let keyEvent = try nextEvent()
                defer { releaseEvent(keyEvent) }
                if keyEvent.pointee.type == YAML_MAPPING_END_EVENT { break }
                let key = try node(startingWith: keyEvent)
                let valueEvent = try nextEvent()
                defer { releaseEvent(valueEvent) }
                pairs.append((key, try node(startingWith: valueEvent)))
            }
            return YAMLNode(value: .mapping(pairs), line: line, column: column)
        case YAML_ALIAS_EVENT:
            throw aliasError(line)
        default:
            throw PolicyError("unexpected YAML structure", file: file, line: line)
        }
    }

    /// The next event, allocated; the caller releases it with `releaseEvent`.
    private func nextEvent() throws(PolicyError) -> UnsafeMutablePointer<yaml_event_t> {
        let event = UnsafeMutablePointer<yaml_event_t>.allocate(capacity: 1)
        guard yaml_parser_parse(parser, event) == 1 else {
            event.deallocate()
            let problem = parser.pointee.problem.map { String(cString: $0) } ?? "invalid YAML"
            let context = parser.pointee.context.map { " " + String(cString: $0) } ?? ""
            throw PolicyError("is not valid YAML: \(problem)\(context)", file: file,
                line: Int(parser.pointee.problem_mark.line) + 1, column: Int(parser.pointee.problem_mark.column) + 1)
        }
        return event
    }

    private func releaseEvent(_ event: UnsafeMutablePointer<yaml_event_t>) {
        yaml_event_delete(event)
        event.deallocate()
    }

    private func line(of event: UnsafeMutablePointer<yaml_event_t>) -> Int {
        Int(event.pointee.start_mark.line) + 1
    }

    private func aliasError(_ line: Int) -> PolicyError {
        PolicyError("uses a YAML anchor or alias; policy files must spell every value out", file: file, line: line)
    }
}
