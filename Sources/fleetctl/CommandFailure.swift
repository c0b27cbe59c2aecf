/// A failure of the operation itself (a file that cannot be read, a refused input file), as one sentence
/// naming the offending value. The program prints it and exits 1; mistakes in the command line are
/// `UsageError`s instead and exit 2.
struct CommandFailure: Error, CustomStringConvertible {
    let description: String

    init(_ description: String) { self.description = description }
}
