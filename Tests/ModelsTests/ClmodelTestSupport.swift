import BuiltProducts
import Foundation
import Models
import TensorGraph

/// Helpers of the `clmodel` end-to-end tests: running the built product, small data folders and
/// small checkpoints written with the library (no training needed).
enum Clmodel {
    /// Runs the built `clmodel` with `arguments`.
    static func run(_ arguments: [String]) throws -> (status: Int32, output: String, errors: String) {
        try BuiltProduct.run("clmodel", arguments)
    }

    /// A fresh temporary folder for one test (the suites' tests run in parallel).
    static func folder(_ label: String) throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("clmodel-\(label)-\(getpid())")
        try? FileManager.default.removeItem(at: folder)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return folder
    }

    /// A few dozen made-up lowercase names, 3 to 7 letters.
    static let names: [String] = {
        let letters: [Character] = Array("abcdefghijklmnopqrstuvwxyz")
        var names: [String] = []
        for i in 0..<60 {
            var name = ""
            for j in 0..<(3 + i % 5) { name.append(letters[(i * 7 + j * 3) % 26]) }
            names.append(name)
        }
        return names
    }()

    /// A names folder (`train.txt` 40 names, `val.txt` and `test.txt` 10 each) in a fresh folder;
    /// `lineEnd` separates the lines, `extraTest` is appended to test.txt.
    static func namesFolder(_ label: String, lineEnd: String = "\n", extraTest: [String] = []) throws -> URL {
        let folder = try self.folder(label)
        for (split, range) in [("train", 0..<40), ("val", 40..<50), ("test", 50..<60)] {
            let lines = Array(names[range]) + (split == "test" ? extraTest : [])
            try Data((lines.joined(separator: lineEnd) + lineEnd).utf8).write(to: folder.appendingPathComponent("\(split).txt"))
        }
        return folder
    }

    /// A small names MLP (embedding 4, hidden 8) in the reference initialisation.
    static let mlpModel = MLPConfiguration(vocabulary: 27, context: 3, embedding: 4, hidden: 8)

    /// Writes an MLP checkpoint of `mlpModel` (or `model`) with `parameters` changed by `edit`.
    static func writeMLPCheckpoint(_ path: String, model: MLPConfiguration = mlpModel, step: Int = 0,
                                   edit: (inout [String: TensorData]) -> Void = { _ in }) throws {
        var parameters = MLPModel.initialParameters(model)
        edit(&parameters)
        let json = String(decoding: try JSONEncoder().encode(model), as: UTF8.self)
        try Checkpoint(kind: "mlp", configurationJSON: json, vocabulary: .names, step: step, parameters: parameters).write(to: path)
    }

    /// Writes a one-layer GPT checkpoint (2 heads, embedding 16; the names vocabulary unless given)
    /// for sequences of `block` tokens.
    @discardableResult
    static func writeGPTCheckpoint(_ path: String, block: Int, vocabulary: CharVocabulary = .names) throws -> GPTConfiguration {
        let model = GPTConfiguration(vocabulary: vocabulary.count, blockSize: block, layers: 1, heads: 2, embedding: 16)
        let json = String(decoding: try JSONEncoder().encode(model), as: UTF8.self)
        try Checkpoint(kind: "gpt", configurationJSON: json, vocabulary: vocabulary, step: 0,
                       parameters: GPTModel.initialParameters(model)).write(to: path)
        return model
    }

    /// The process id of a process that has exited (the writer of a stale temporary file).
    static func deadProcessID() throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/true")
        try process.run()
        process.waitUntilExit()
        return process.processIdentifier
    }
}
