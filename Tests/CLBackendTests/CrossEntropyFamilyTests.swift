import CLBackend
import CLRuntime
import Foundation
import Testing

@Suite struct CrossEntropyFamilyTests {
    static func reference(_ x: [Float], _ targets: [Int32], rows: Int, classes: Int, ignore: Int32?) -> Double {
        var total = 0.0, counted = 0
        for r in 0..<rows {
            let t = targets[r]
            if t == ignore || t < 0 || Int(t) >= classes { continue }
            let row = (0..<classes).map { Double(x[r * classes + $0]) }
            let m = row.max()!
            total += m + Foundation.log(row.reduce(0) { $0 + Foundation.exp($1 - m) }) - row[Int(t)]
            counted += 1
        }
        return counted == 0 ? 0 : total / Double(counted)
    }

    static let shapes: [(Int, Int)] = [(1, 1), (1, 7), (3, 13), (5, 257), (7, 100), (33, 65), (17, 1000), (257, 27)]

    func run(_ family: CrossEntropyFamily, x: [Float], targets: [Int32], rows: Int, classes: Int,
             ignore: Int32?) throws -> (loss: Float, flag: Int32) {
        let context = TestDevice.context
        let logits = try CLBuffer<Float>(context: context, values: x.isEmpty ? [0] : x)
        let targetBuffer = try CLBuffer<Int32>(context: context, values: targets.isEmpty ? [0] : targets)
        let flag = try CLBuffer<Int32>(context: context, values: [0])
        let loss = try RowOpsGuarded<Float>(count: 1, sentinel: -123)
        try RowOpsTestRun.run(try family.encode(logits: logits, targets: targetBuffer, loss: loss.view, rows: rows,
                                                classes: classes, ignoreIndex: ignore, errorFlag: flag))
        withExtendedLifetime((logits, targetBuffer)) {}
        return (try loss.read("loss [\(rows), \(classes)]")[0], try flag.download()[0])
    }

    @Test(arguments: [1, 2])
    func lossMatchesReference(variant: Int) throws {
        let family = CrossEntropyFamily(environment: TestDevice.environment(forcing: CrossEntropyFamily.Variant.number(variant)))
        var random = TestRandom(seed: 51)
        for (rows, classes) in Self.shapes {
            for ignore: Int32? in [nil, -100, 0] {
                let x = random.floats(rows * classes, -5, 5)
                var targets = (0..<rows).map { _ in Int32(random.next() % UInt64(classes)) }
                if let ignore, rows > 2 { targets[1] = ignore }   // at least one ignored row when there are several
                let (loss, flag) = try run(family, x: x, targets: targets, rows: rows, classes: classes, ignore: ignore)
                let expected = Self.reference(x, targets, rows: rows, classes: classes, ignore: ignore)
                let comment = "variant \(variant) [\(rows), \(classes)] ignore \(String(describing: ignore))"
                RowOpsTestRun.compare([expected], [loss], comment)
                #expect(flag == 0, "\(comment)")
            }
        }
    }

    @Test(arguments: [1, 2])
    func ignoredAndBadTargets(variant: Int) throws {
        let family = CrossEntropyFamily(environment: TestDevice.environment(forcing: CrossEntropyFamily.Variant.number(variant)))
        var random = TestRandom(seed: 52)
        let rows = 9, classes = 11
        let x = random.floats(rows * classes, -3, 3)
        // every row ignored: loss 0, no error
        let allIgnored = try run(family, x: x, targets: [Int32](repeating: -100, count: rows), rows: rows, classes: classes,
                                 ignore: -100)
        #expect(allIgnored.loss == 0 && allIgnored.flag == 0)
        // bad targets in rows 2 and 6 (-100 is bad when no ignore index is set): flag 7, mean over the rest
        let targets: [Int32] = [0, 1, 11, 3, 4, 5, -100, 10, 2]
        let bad = try run(family, x: x, targets: targets, rows: rows, classes: classes, ignore: nil)
        #expect(bad.flag == 7)
        RowOpsTestRun.compare([Self.reference(x, targets, rows: rows, classes: classes, ignore: nil)], [bad.loss],
                              "bad targets variant \(variant)")
        // zero rows: loss 0
        let empty = try run(family, x: [], targets: [], rows: 0, classes: classes, ignore: nil)
        #expect(empty.loss == 0 && empty.flag == 0)
    }
}
