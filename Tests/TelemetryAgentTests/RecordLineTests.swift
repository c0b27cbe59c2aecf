import Testing

@testable import TelemetryAgent

@Suite struct RecordLineTests {
    @Test(arguments: [
        (#"{"stream":"host","cpu":0.5}"#, "host", nil),
        (#" { "n" : [1, 2.5e3, {"a": null}], "stream" : "alarms", "captured": 1700000000123 } "#, "alarms",
         Int64(1_700_000_000_123)),
        (#"{"x":"a \"quoted\" \\ word","stream":"bulk","ok":true,"no":false}"#, "bulk", nil),
    ])
    func wellFormedRecordsGiveTheirStreamAndCaptureTime(line: String, stream: String, captured: Int64?) {
        let record = RecordLine(Array(line.utf8))
        #expect(record?.stream == stream)
        #expect(record?.captured == captured)
    }

    @Test(arguments: [
        "", "[]", "\"host\"", #"{"stream":"host""#, #"{"stream":"host",}"#, #"{"stream":host}"#,
        #"{"n":1}"#, #"{"stream":7}"#, #"{"stream":"host"} trailing"#, #"{"stream":"host","captured":"soon"}"#,
        #"{"stream":"host","captured":1.5}"#, #"{"stream":"host","n":01x}"#, #"{"stream":"host","n":tru}"#,
        "{\"stream\":\"ho\nst\"}",
    ])
    func malformedLinesAreRefused(line: String) {
        #expect(RecordLine(Array(line.utf8)) == nil)
    }

    @Test func refusalsNameTheLine() {
        guard case .failure(let error) = SocketInput.parse(Array("not json".utf8)) else {
            Issue.record("accepted a line that is not JSON")
            return
        }
        #expect(error.message.contains("'not json'"))
    }
}
