import ArgumentParser
import DurableFiles
import Foundation
import Models
import TensorGraph

struct Quantize: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Quantize a checkpoint's weight matrices to q8_0 or q4_0 (matrices whose K is not a multiple of 32 stay f32), or store them in half precision (f16, any K).")

    @Option(help: "Input checkpoint (safetensors, f32).")
    var checkpoint: String
    @Option(help: "q8_0, q4_0 or f16 (IEEE half; products still accumulate in f32).")
    var format: String = "q8_0"
    @Option(help: "Output checkpoint.")
    var output: String

    func validate() throws {
        guard QuantFormat(rawValue: format) != nil else {
            throw ValidationError("--format must be one of \(QuantFormat.allCases.map(\.rawValue).joined(separator: ", ")), got '\(format)'")
        }
    }

    func run() throws {
        try reportingErrors {
            try DurableFile.checkWritable(output)
            let names: [String], loaded: Checkpoint
            if try Checkpoint.read(checkpoint).kind == "gpt" {
                let (configuration, gpt) = try loadGPT(checkpoint)
                (names, loaded) = (configuration.quantizableWeights, gpt)
            } else {
                let (configuration, mlp) = try loadMLP(checkpoint)
                (names, loaded) = (configuration.quantizableWeights, mlp)
            }
            let result = try ModelQuantization.quantize(loaded.parameters, names: names,
                                                        format: QuantFormat(rawValue: format)!)
            var quantized = loaded
            quantized.parameters = result.parameters
            quantized.optimizerState = [:]  // training state does not apply to quantized weights
            try quantized.write(to: output)
            for name in result.quantized {
                let value = result.parameters[name]!
                print("\(name) \(value.shape) -> \(format) (\(value.quantizedBytes!.bytes.count) bytes, was \(value.shape.count * 4))")
            }
            for (name, reason) in result.skipped.sorted(by: { $0.key < $1.key }) { print("\(name): \(reason)") }
            print("wrote \(output)")
        }
    }
}
