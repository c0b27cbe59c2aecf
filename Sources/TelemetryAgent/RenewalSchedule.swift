#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// When a certificate is due for renewal: at `fraction` of its lifetime, moved by up to ±`jitter` of the
/// lifetime so that a fleet provisioned at once does not renew at once.
///
/// The time is a wall-clock date, compared with the wall clock on every tick of the renewal client: a
/// device that slept or whose clock jumped past the date renews at its next tick.
public struct RenewalSchedule: Sendable, Equatable {
    public let renewAt: Date

    /// `random` in 0...1 picks the point within the jitter band (0.5 is the middle).
    public init(notBefore: Date, notAfter: Date, fraction: Double, jitter: Double, random: Double) {
        let lifetime = max(0, notAfter.timeIntervalSince(notBefore))
        let point = fraction + jitter * (2 * min(1, max(0, random)) - 1)
        renewAt = notBefore.addingTimeInterval(lifetime * min(0.95, max(0.05, point)))
    }

    /// True when `now` is at or past the renewal date.
    public func isDue(now: Date) -> Bool { now >= renewAt }
}
