import Foundation
import Models
import Testing

@Suite struct SafeTensorsTests {
    private let tensors: [String: SafeTensors.Entry] = [
        "a.weight": .init(floats: [1, -2, 3.5, 4, 5, 6], shape: [2, 3]),
        "b": .init(floats: [0.25], shape: [1]),
        "ids": .init(dtype: .i32, shape: [2], bytes: [1, 0, 0, 0, 255, 255, 255, 255]),
    ]

    @Test func roundTripAndLayout() throws {
        let bytes = try SafeTensors.encode(tensors, metadata: ["format": "pt"])
        let headerLength = Int(bytes[0]) | Int(bytes[1]) << 8
        #expect((8 + headerLength) % 8 == 0)
        let decoded = try SafeTensors.decode(bytes)
        #expect(decoded.tensors == tensors)
        #expect(decoded.metadata == ["format": "pt"])
        #expect(try decoded.tensors["a.weight"]!.floats() == [1, -2, 3.5, 4, 5, 6])
    }

    @Test func corruptFilesAreRejectedWithTheReason() throws {
        let good = try SafeTensors.encode(tensors)
        let truncated = Array(good.dropLast(3))
        for (bytes, fragment) in [(truncated, "outside"), (Array(good.prefix(5)), "shorter"), ([UInt8](repeating: 0xFF, count: 16), "header length"),
                                  (Array(good.prefix(8)) + Array(repeating: UInt8(ascii: "x"), count: good.count - 8), "JSON"),
                                  (good + [0, 0, 0, 0], "after the last tensor")] {
            let error = #expect(throws: SafeTensors.CheckpointError.self) { _ = try SafeTensors.decode(bytes, path: "model.safetensors") }
            #expect("\(error!)".contains("model.safetensors"))
            #expect("\(error!)".contains(fragment), "\(error!)")
        }
    }

    @Test func writeIsAtomicAndReadable() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("clgraph-\(getpid()).safetensors").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try SafeTensors.write(tensors, to: path)
        #expect(try SafeTensors.read(path).tensors == tensors)
        #expect(throws: SafeTensors.CheckpointError.self) { _ = try SafeTensors.read(path + ".missing") }
    }
}
