import Foundation
import Testing

/// `clmodel serve`'s refusals, before any server starts (the API itself: PlaygroundAPITests).
@Suite struct ClmodelServeTests {
    @Test func badServeArgumentsAreClearErrors() throws {
        let folder = try Clmodel.folder("serve")
        let mlp = folder.appendingPathComponent("mlp.safetensors").path
        try Clmodel.writeMLPCheckpoint(mlp)
        let twice = try Clmodel.run(["serve", "--checkpoint", mlp, "--checkpoint", mlp, "--port", "0"])
        #expect(twice.status == 64)
        #expect(twice.errors.contains("two MLP checkpoints"), "\(twice.errors)")
        let none = try Clmodel.run(["serve"])
        #expect(none.status == 64)
        #expect(none.errors.contains("--checkpoint"), "\(none.errors)")
        let port = try Clmodel.run(["serve", "--checkpoint", mlp, "--port", "70000"])
        #expect(port.status == 64)
        #expect(port.errors.contains("--port must be in 0...65535"), "\(port.errors)")
        let missing = try Clmodel.run(["serve", "--checkpoint", folder.appendingPathComponent("absent.safetensors").path, "--port", "0"])
        #expect(missing.status == 2)
        #expect(missing.errors.contains("absent.safetensors"), "\(missing.errors)")
    }
}
