/// The per-kernel timings of one traced plan run (``CompileOptions/trace``), as data: what the
/// trace prints on stderr, for tools that show it elsewhere.
public struct PlanTrace: Sendable, Codable, Equatable {
    /// One kernel launch.
    public struct Launch: Sendable, Codable, Equatable {
        /// The kernel family and variant, e.g. "matmul.2 (cpu register-blocked)".
        public let variant: String
        /// The op and its shapes.
        public let label: String
        /// Global work size, and local (nil: the driver chooses).
        public let global: [Int]
        public let local: [Int]?
        /// Device time from the kernel's profiling events.
        public let milliseconds: Double
        public let gflops: Double
        public let gigabytesPerSecond: Double
    }

    /// Wall time of the run, uploads to the final wait.
    public let wallMilliseconds: Double
    public let launches: [Launch]
    public var kernelMilliseconds: Double { launches.reduce(0) { $0 + $1.milliseconds } }
}
