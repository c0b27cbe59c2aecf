#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// What the agent reports on its retained status topic, in its last will, in `fleet-agent status` and
/// in its metrics file.
public struct AgentStatus: Sendable, Codable, Equatable {
    /// The device id.
    public var device: String
    /// Whether the agent is connected (false in the will).
    public var online: Bool
    /// When this status was made (RFC 3339, UTC).
    public var time: String
    /// Records waiting in the buffer.
    public var backlog: Int64
    /// Payload bytes waiting in the buffer.
    public var backlogBytes: Int64
    /// Age of the oldest waiting record, nil when none waits.
    public var oldestAgeSeconds: Double?
    /// Records acknowledged to producers since the buffer was created.
    public var accepted: Int64
    /// Records acknowledged by the broker with a success code.
    public var delivered: Int64
    /// Records the broker refused (0x80 or above), kept in the rejected table.
    public var rejected: Int64
    /// Evicted + expired + refused.
    public var dropped: Int64
    /// Bulk records evicted to make room.
    public var evictedBulk: Int64
    /// Normal records evicted to make room.
    public var evictedNormal: Int64
    /// Critical records evicted to make room.
    public var evictedCritical: Int64
    /// Records whose TTL ran out.
    public var expired: Int64
    /// Records never accepted (too large, full of higher priority, disk full, unknown stream).
    public var refused: Int64
    /// Damaged buffer files moved aside.
    public var bufferSetAside: Int64
    /// Where the last one went.
    public var bufferSetAsidePath: String?
    /// The boot epoch new records carry.
    public var bootEpoch: Int64
    /// The device certificate's notAfter (RFC 3339).
    public var certificateNotAfter: String?
    /// The last connection problem, if the agent is not connected.
    public var lastError: String?
    /// What the certificate renewal last reported (set by the renewal client through the agent), if anything.
    public var renewal: String?

    init(device: String, online: Bool, snapshot: BufferSnapshot, notAfter: Date?, lastError: String?) {
        self.device = device
        self.online = online
        time = rfc3339(Date())
        backlog = snapshot.rows
        backlogBytes = snapshot.bytes
        oldestAgeSeconds = snapshot.oldestAgeSeconds.map { ($0 * 1000).rounded() / 1000 }
        let counters = snapshot.counters
        accepted = counters.accepted
        delivered = counters.delivered
        rejected = counters.rejected
        dropped = counters.dropped
        evictedBulk = counters.evictedBulk
        evictedNormal = counters.evictedNormal
        evictedCritical = counters.evictedCritical
        expired = counters.expired
        refused = counters.refused
        bufferSetAside = counters.setAside
        bufferSetAsidePath = snapshot.setAsidePath
        bootEpoch = snapshot.epoch
        certificateNotAfter = notAfter.map(rfc3339)
        self.lastError = lastError
    }

    /// The status as compact JSON with sorted keys.
    public var json: [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return Array((try? encoder.encode(self)) ?? Data())
    }

    /// The status in Prometheus text exposition format, for node_exporter's textfile collector.
    public var prometheusText: String {
        let label = "device=\"\(device)\""
        var lines: [String] = []
        func metric(_ name: String, _ type: String, _ help: String, _ samples: [(String, Double)]) {
            lines.append("# HELP fleet_agent_\(name) \(help)")
            lines.append("# TYPE fleet_agent_\(name) \(type)")
            for (labels, value) in samples {
                let all = labels.isEmpty ? label : "\(label),\(labels)"
                lines.append(
                    "fleet_agent_\(name){\(all)} \(value == value.rounded() ? String(Int64(value)) : String(value))")
            }
        }
        metric("online", "gauge", "1 when connected to the broker.", [("", online ? 1 : 0)])
        metric("backlog_records", "gauge", "Records waiting in the buffer.", [("", Double(backlog))])
        metric("backlog_bytes", "gauge", "Payload bytes waiting in the buffer.", [("", Double(backlogBytes))])
        metric(
            "oldest_record_age_seconds", "gauge", "Age of the oldest waiting record.",
            [("", oldestAgeSeconds ?? 0)])
        metric(
            "records_total", "counter", "Records by outcome.",
            [
                ("outcome=\"accepted\"", Double(accepted)), ("outcome=\"delivered\"", Double(delivered)),
                ("outcome=\"rejected\"", Double(rejected)), ("outcome=\"expired\"", Double(expired)),
                ("outcome=\"refused\"", Double(refused)),
            ])
        metric(
            "evicted_total", "counter", "Records evicted to make room, by priority.",
            [
                ("priority=\"bulk\"", Double(evictedBulk)), ("priority=\"normal\"", Double(evictedNormal)),
                ("priority=\"critical\"", Double(evictedCritical)),
            ])
        metric("buffer_set_aside_total", "counter", "Damaged buffer files moved aside.", [("", Double(bufferSetAside))])
        if let notAfter = certificateNotAfter, let seconds = parseRFC3339(notAfter) {
            metric(
                "certificate_not_after_seconds", "gauge", "The device certificate's notAfter (Unix time).",
                [("", seconds)])
        }
        return lines.joined(separator: "\n") + "\n"
    }
}

/// Seconds since 1970 of an RFC 3339 UTC time as `rfc3339` writes it.
func parseRFC3339(_ text: String) -> Double? {
    let digits = text.split(whereSeparator: { !$0.isNumber }).compactMap { Int32($0) }
    guard digits.count >= 6 else { return nil }
    var parts = tm()
    parts.tm_year = digits[0] - 1900
    parts.tm_mon = digits[1] - 1
    parts.tm_mday = digits[2]
    parts.tm_hour = digits[3]
    parts.tm_min = digits[4]
    parts.tm_sec = digits[5]
    return Double(timegm(&parts))
}

#if canImport(Glibc)
    import Glibc
#endif

extension AgentStatus {
    /// The status as read from the buffer and certificate of `configuration`, without a running agent.
    public static func read(configuration: AgentConfiguration) throws(AgentError) -> AgentStatus {
        let buffer = try RecordBuffer(configuration: configuration)
        let snapshot = try buffer.snapshot(now: nowMilliseconds())
        // The pair the agent runs on (renewed ones included) and what its renewal last reported.
        let store = CredentialStore(configuration: configuration)
        var status = AgentStatus(
            device: configuration.device, online: false, snapshot: snapshot,
            notAfter: CertificateExpiry.notAfter(path: store.current().pair?.certificate ?? configuration.tls.cert),
            lastError: nil)
        status.renewal = store.readNote()
        return status
    }
}
