import CLRuntime
import Foundation

/// One benchmark run in the stable JSON schema documented in the README:
/// `benchmark`, `device`, `params`, `results`.
public struct BenchmarkReport: Codable, Sendable {
    public var benchmark: String
    public var device: DeviceSummary
    public var params: [String: String]
    public var results: [BenchmarkResult]
    public var clgraphVersion: String = "0.1.0"
    public var createdAt: Date = Date()

    enum CodingKeys: String, CodingKey {
        case benchmark, device, params, results
        case clgraphVersion = "clgraph_version"
        case createdAt = "created_at"
    }

    public init(benchmark: String, device: DeviceSummary, params: [String: String], results: [BenchmarkResult]) {
        self.benchmark = benchmark
        self.device = device
        self.params = params
        self.results = results
    }

    /// Every result passed validation.
    public var allValid: Bool { results.allSatisfy(\.valid) }

    /// The exit status a benchmark command ends with: 0 when every result of every report is
    /// valid, 1 when any failed validation.
    public static func exitStatus(_ reports: [BenchmarkReport]) -> Int32 {
        reports.allSatisfy(\.allValid) ? 0 : 1
    }
}

/// The device a report was measured on, with the peaks its percentages refer to.
public struct DeviceSummary: Codable, Sendable {
    public var name: String
    public var platform: String
    public var driver: String
    public var type: String
    public var peakGflops: Double
    public var peakGbps: Double

    enum CodingKeys: String, CodingKey {
        case name, platform, driver, type
        case peakGflops = "peak_gflops"
        case peakGbps = "peak_gbps"
    }

    public init(info: DeviceInfo, peak: DevicePeak) {
        name = info.name
        platform = info.platformName
        driver = info.driverVersion
        type = info.type
        peakGflops = peak.fp32GFLOPS
        peakGbps = peak.bandwidthGBps
    }
}

/// One variant's measurement. `extra` carries benchmark-specific numbers (m, n, k, batch,
/// adversarial_nmse, memory_bytes, …), flattened into the JSON object beside the fixed keys.
public struct BenchmarkResult: Codable, Sendable {
    public var variant: String
    public var description: String
    public var medianMs: Double
    public var minMs: Double
    public var maxMs: Double
    public var kernelMedianMs: Double
    public var gflops: Double
    public var gbps: Double
    public var percentOfPeak: Double
    public var nmse: Double
    public var maxAbsError: Double
    public var valid: Bool
    public var speedupVsBaseline: Double
    public var fused: Bool?
    /// Why validation failed, when it did.
    public var failure: String?
    public var extra: [String: Double]

    public init(variant: String, description: String, medianMs: Double, minMs: Double, maxMs: Double,
                kernelMedianMs: Double, gflops: Double, gbps: Double, percentOfPeak: Double, nmse: Double,
                maxAbsError: Double, valid: Bool, speedupVsBaseline: Double, fused: Bool? = nil,
                failure: String? = nil, extra: [String: Double] = [:]) {
        self.variant = variant
        self.description = description
        self.medianMs = medianMs
        self.minMs = minMs
        self.maxMs = maxMs
        self.kernelMedianMs = kernelMedianMs
        self.gflops = gflops
        self.gbps = gbps
        self.percentOfPeak = percentOfPeak
        self.nmse = nmse
        self.maxAbsError = maxAbsError
        self.valid = valid
        self.speedupVsBaseline = speedupVsBaseline
        self.fused = fused
        self.failure = failure
        self.extra = extra
    }

    private static let fixedKeys: [String] = [
        "variant", "description", "median_ms", "min_ms", "max_ms", "kernel_median_ms", "gflops", "gbps",
        "percent_of_peak", "nmse", "max_abs_error", "valid", "speedup_vs_baseline", "fused", "failure",
    ]

    private struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(_ string: String) { stringValue = string }
        init?(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: Key.self)
        try container.encode(variant, forKey: Key("variant"))
        try container.encode(description, forKey: Key("description"))
        try container.encode(medianMs, forKey: Key("median_ms"))
        try container.encode(minMs, forKey: Key("min_ms"))
        try container.encode(maxMs, forKey: Key("max_ms"))
        try container.encode(kernelMedianMs, forKey: Key("kernel_median_ms"))
        try container.encode(gflops, forKey: Key("gflops"))
        try container.encode(gbps, forKey: Key("gbps"))
        try container.encode(percentOfPeak, forKey: Key("percent_of_peak"))
        try container.encode(Self.finite(nmse), forKey: Key("nmse"))
        try container.encode(Self.finite(maxAbsError), forKey: Key("max_abs_error"))
        try container.encode(valid, forKey: Key("valid"))
        try container.encode(speedupVsBaseline, forKey: Key("speedup_vs_baseline"))
        try container.encodeIfPresent(fused, forKey: Key("fused"))
        try container.encodeIfPresent(failure, forKey: Key("failure"))
        for (key, value) in extra where !Self.fixedKeys.contains(key) {
            try container.encode(Self.finite(value), forKey: Key(key))
        }
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: Key.self)
        variant = try container.decode(String.self, forKey: Key("variant"))
        description = try container.decode(String.self, forKey: Key("description"))
        medianMs = try container.decode(Double.self, forKey: Key("median_ms"))
        minMs = try container.decode(Double.self, forKey: Key("min_ms"))
        maxMs = try container.decode(Double.self, forKey: Key("max_ms"))
        kernelMedianMs = try container.decode(Double.self, forKey: Key("kernel_median_ms"))
        gflops = try container.decode(Double.self, forKey: Key("gflops"))
        gbps = try container.decode(Double.self, forKey: Key("gbps"))
        percentOfPeak = try container.decode(Double.self, forKey: Key("percent_of_peak"))
        nmse = try container.decode(Double.self, forKey: Key("nmse"))
        maxAbsError = try container.decode(Double.self, forKey: Key("max_abs_error"))
        valid = try container.decode(Bool.self, forKey: Key("valid"))
        speedupVsBaseline = try container.decode(Double.self, forKey: Key("speedup_vs_baseline"))
        fused = try container.decodeIfPresent(Bool.self, forKey: Key("fused"))
        failure = try container.decodeIfPresent(String.self, forKey: Key("failure"))
        var extra: [String: Double] = [:]
        for key in container.allKeys where !Self.fixedKeys.contains(key.stringValue) {
            if let value = try? container.decode(Double.self, forKey: key) { extra[key.stringValue] = value }
        }
        self.extra = extra
    }

    /// JSON has no infinity or NaN: a non-finite error is written as a huge number.
    private static func finite(_ value: Double) -> Double {
        value.isNaN ? Double.greatestFiniteMagnitude : min(max(value, -Double.greatestFiniteMagnitude), Double.greatestFiniteMagnitude)
    }
}
