import ArgumentParser
import CLRuntime
import Foundation

@main
struct CLBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "clbench",
        abstract: "Benchmarks and probes for CLGraph's OpenCL backend.",
        discussion: """
            Exit codes: 0 success; 1 a result failed validation; 64 bad arguments; \
            69 no usable OpenCL platform or device; 70 any other runtime error.
            Environment: CLGRAPH_DEVICE selects the device (index or part of its name); \
            CLGRAPH_CACHE_DIR holds program, tuning and peak caches.
            """,
        subcommands: [Devices.self, Peak.self, Runtime.self, Conformance.self, Attention.self, LayerNorm.self, RowOpsBench.self, Matmul.self, Quant.self, Tune.self, All.self, Compare.self, Fuzz.self]
    )
}

/// Options every subcommand that touches a device shares.
struct DeviceOptions: ParsableArguments {
    @Option(name: .long, help: "Device index or part of its name (default: $CLGRAPH_DEVICE, else the first GPU, else the first device).")
    var device: String?
}

enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case table, json, csv
}

/// Runs `body`, turning library errors into a message on stderr and a meaningful exit code.
func reportingErrors(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let error as CLError {
        FileHandle.standardError.write(Data("error: \(error)\n".utf8))
        switch error {
        case .noPlatform, .noDevice, .unknownDevice: throw ExitCode(69)
        default: throw ExitCode(70)
        }
    } catch let error as ExitCode {
        throw error
    } catch {
        FileHandle.standardError.write(Data("error: \(error)\n".utf8))
        throw ExitCode(70)
    }
}

/// Encodes `value` as sorted, pretty JSON text.
func jsonText<T: Encodable>(_ value: T) throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    encoder.dateEncodingStrategy = .iso8601
    return String(decoding: try encoder.encode(value), as: UTF8.self)
}
