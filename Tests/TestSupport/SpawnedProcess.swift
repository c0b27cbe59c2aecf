import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A child process started with `posix_spawn`, with an empty signal mask and default signal handling.
///
/// Foundation's `Process` hands the test runner's blocked signals down to the child: a Mosquitto started
/// that way never sees SIGHUP (the signal stays pending), so reload tests would test nothing. Tests that
/// signal their children start them with this type instead.
public final class SpawnedProcess: @unchecked Sendable {  // `status` is guarded by `lock`
    public let pid: pid_t
    private let lock = NSLock()
    private var status: Int32?

    /// Starts `executable` (a path, or a name on PATH) with `arguments`; standard output and error go to
    /// `outputPath` (appended), standard input is /dev/null.
    public init(_ executable: String, _ arguments: [String], outputPath: String, environment: [String: String]? = nil)
        throws
    {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t()
        sigemptyset(&empty)
        var all = sigset_t()
        sigfillset(&all)
        posix_spawnattr_setsigmask(&attributes, &empty)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let path = resolveExecutable(executable)
        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let variables =
            (environment ?? ProcessInfo.processInfo.environment).map { strdup("\($0.key)=\($0.value)") }
            + [nil]
        defer { variables.forEach { free($0) } }
        var child: pid_t = 0
        let result = posix_spawn(&child, path, &actions, &attributes, argv, variables)
        guard result == 0 else {
            throw BrokerStartError(message: "cannot start '\(path)': \(String(cString: strerror(result)))")
        }
        pid = child
    }

    deinit { _ = signal(SIGKILL) }

    /// True until the process has ended (and been reaped).
    public var isRunning: Bool {
        lock.lock()
        defer { lock.unlock() }
        if status != nil { return false }
        var raw: Int32 = 0
        if waitpid(pid, &raw, WNOHANG) == pid { status = raw }
        return status == nil
    }

    /// Sends `number` (SIGTERM, SIGKILL, SIGHUP...) when still running; returns whether it was sent.
    @discardableResult
    public func signal(_ number: Int32) -> Bool {
        guard isRunning else { return false }
        return kill(pid, number) == 0
    }

    /// Waits up to `timeout` seconds for the process to end; returns whether it did.
    @discardableResult
    public func waitForExit(timeout: Double) -> Bool {
        waitUntil(timeout: timeout) { !isRunning }
    }
}
