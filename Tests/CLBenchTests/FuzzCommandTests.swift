import BuiltProducts
import Foundation
import Testing

/// `clbench fuzz` end to end.
@Suite struct FuzzCommandTests {
    /// A few small graphs (forward only, so the run builds few programs): exit 0, a JSON summary
    /// with the counts, and progress on stderr, never on stdout.
    @Test func aPassingRunExitsZeroWithASummary() throws {
        let run = try BuiltProduct.run("clbench", ["fuzz", "--graphs", "3", "--seed", "5", "--max-steps", "4",
                                                   "--backward", "0", "--format", "json"])
        #expect(run.status == 0, "\(run.output)\n\(run.errors)")
        let report = try JSONSerialization.jsonObject(with: Data(run.output.utf8)) as? [String: Any]
        #expect(report?["graphs"] as? Int == 3)
        #expect((report?["ops"] as? Int ?? 0) >= 3)
        #expect((report?["outputsChecked"] as? Int ?? 0) >= 3)
        #expect((report?["failures"] as? [Any])?.isEmpty == true)
        #expect(run.errors.contains("fuzz: 3/3 graphs"))
    }

    @Test func badArgumentsExit64() throws {
        for arguments in [["--graphs", "0"], ["--backward", "1.5"], ["--attention", "sideways"],
                          ["--kernel-variant", "nosuchfamily=1"], ["--kernel-variant", "matmul"]] {
            let run = try BuiltProduct.run("clbench", ["fuzz"] + arguments)
            #expect(run.status == 64, "\(arguments): \(run.status) \(run.errors)")
            #expect(!run.errors.isEmpty)
        }
    }
}
