import Foundation
import Testing

/// `--data` is optional where a bundled data set fits: the names splits ship with the package.
@Suite struct ClmodelBundledDataTests {
    @Test func evalWithoutDataUsesTheBundledNames() throws {
        let run = try Clmodel.run(["eval", "mlp", "--split", "val"])
        #expect(run.status == 0, "\(run.errors)")
        #expect(run.output == "val_loss 3.2873\n", "the reference initialisation on the bundled val split: \(run.output)")
    }
}
