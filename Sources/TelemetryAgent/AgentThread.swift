import Dispatch

#if canImport(Glibc)
    import Glibc
#endif

/// Runs `body` on a new detached POSIX thread (FoundationEssentials has no `Thread`).
func startThread(_ body: @escaping @Sendable () -> Void) {
    final class Box: @unchecked Sendable {  // handed to exactly one thread
        let body: @Sendable () -> Void
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    }
    let box = Unmanaged.passRetained(Box(body)).toOpaque()
    var thread = pthread_t()
    let status = pthread_create(
        &thread, nil,
        { raw in
            let box = Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue()
            box.body()
            return nil
        }, box)
    precondition(status == 0, "pthread_create failed: \(status)")
    pthread_detach(thread)
}

/// A batch of records waiting for the agent's loop to commit them, and the producer waiting for it.
final class Submission: @unchecked Sendable {  // outcomes written by the loop before `done` is signalled
    let records: [IncomingRecord]
    var outcomes: [AppendOutcome] = []
    let done = DispatchSemaphore(value: 0)

    init(_ records: [IncomingRecord]) { self.records = records }
}

/// Reconnect delays: exponential backoff with full jitter (a uniform delay between 0 and the current bound).
struct Backoff {
    let minimum: Double
    let maximum: Double
    private(set) var failures = 0

    init(minimum: Double, maximum: Double) {
        self.minimum = minimum
        self.maximum = maximum
    }

    /// The bound after `failures` failures: minimum × 2^failures, at most maximum.
    var bound: Double { min(maximum, minimum * Double(1 << min(failures, 30))) }

    mutating func nextDelay() -> Double {
        let delay = Double.random(in: 0...bound)
        failures += 1
        return delay
    }

    mutating func reset() { failures = 0 }
}
