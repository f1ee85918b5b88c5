import ArgumentParser
import CLBackend
import CLRuntime
import Foundation
import Models
import TensorGraph

/// Options shared by every subcommand that runs a model.
struct RunOptions: ParsableArguments {
    @Option(help: "OpenCL device: index or part of its name (default $CLGRAPH_DEVICE, else the first GPU, else the first device). 'reference' runs the plain-Swift reference backend.")
    var device: String?

    func backend() throws -> any Backend {
        if device?.lowercased() == "reference" { return ReferenceBackend() }
        return try OpenCLBackend(device: device)
    }
}

/// Runs `body`, printing library errors on stderr with a meaningful exit code:
/// 2 data or checkpoint problems, 69 no OpenCL, 70 other runtime errors.
func reportingErrors(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let error as ExitCode {
        throw error
    } catch let error as ValidationError {
        throw error
    } catch let error as CLError {
        FileHandle.standardError.write(Data("error: \(error)\n".utf8))
        switch error {
        case .noPlatform, .noDevice, .unknownDevice: throw ExitCode(69)
        default: throw ExitCode(70)
        }
    } catch let error as DataError {
        FileHandle.standardError.write(Data("error: \(error)\n".utf8))
        throw ExitCode(2)
    } catch let error as SafeTensors.CheckpointError {
        FileHandle.standardError.write(Data("error: \(error)\n".utf8))
        throw ExitCode(2)
    } catch {
        FileHandle.standardError.write(Data("error: \(error)\n".utf8))
        throw ExitCode(70)
    }
}

/// Loads an MLP checkpoint and its configuration.
func loadMLP(_ path: String) throws -> (MLPConfiguration, Checkpoint) {
    let header = try Checkpoint.read(path)
    let configuration = (try? JSONDecoder().decode(MLPConfiguration.self, from: Data(header.configurationJSON.utf8)))
        ?? MLPConfiguration(vocabulary: header.vocabulary.count)
    let checkpoint = try Checkpoint.read(path, expectedShapes: configuration.parameterShapes)
    return (configuration, checkpoint)
}
