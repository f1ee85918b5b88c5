import CLBackend
import CLRuntime
import Foundation
import Testing

/// Output buffers with guard regions, shared by the row-wise family tests.
struct RowOpsGuarded<T: DeviceScalar & Equatable> {
    let parent: CLBuffer<T>
    let view: CLBuffer<T>
    let pad: Int
    let count: Int
    let sentinel: T

    init(count: Int, sentinel: T) throws {
        let context = TestDevice.context
        pad = max(1, context.device.info.baseAddressAlignmentBytes / MemoryLayout<T>.stride)
        self.count = count
        self.sentinel = sentinel
        parent = try CLBuffer<T>(context: context, values: [T](repeating: sentinel, count: count + 2 * pad))
        view = try parent.view(offset: pad, count: count)
    }

    /// The output values; records a test issue when a guard element changed.
    func read(_ comment: String) throws -> [T] {
        let all = try parent.download()
        let before = all[0..<pad], after = all[(pad + count)...]
        #expect(before.allSatisfy { $0 == sentinel } && after.allSatisfy { $0 == sentinel },
                "guard region overwritten: \(comment)")
        return Array(all[pad..<(pad + count)])
    }
}

enum RowOpsTestRun {
    static func run(_ steps: [LaunchStep]) throws {
        for step in steps { try step.enqueue(on: TestDevice.context) }
        try TestDevice.context.finish()
    }

    /// NMSE over the finite reference entries; infinite reference entries must match exactly.
    static func compare(_ reference: [Double], _ actual: [Float], bound: Double = 1e-7, _ comment: String) {
        #expect(reference.count == actual.count)
        var ref: [Float] = [], act: [Float] = []
        var mismatches = 0
        for (r, a) in zip(reference, actual) {
            if r.isFinite {
                if !a.isFinite { mismatches += 1 }
                ref.append(Float(r)); act.append(a)
            } else if Double(a) != r {
                mismatches += 1
            }
        }
        #expect(mismatches == 0, "non-finite mismatch in \(mismatches) entries: \(comment)")
        if mismatches == 0 && !ref.isEmpty {
            let error = nmse(ref, act)
            #expect(error <= bound, "nmse \(error) > \(bound): \(comment)")
        }
    }
}

@Suite struct SoftmaxFamilyTests {
    static func reference(_ x: [Float], rows: Int, cols: Int, log: Bool, scale: Float, mask: CausalMask?) -> [Double] {
        var out = [Double](repeating: 0, count: rows * cols)
        for r in 0..<rows {
            let valid = mask.map { max(0, min(cols, (r % $0.period) + $0.offset + 1)) } ?? cols
            for j in valid..<cols { out[r * cols + j] = log ? -.infinity : 0 }
            if valid == 0 { continue }
            let values = (0..<valid).map { Double(x[r * cols + $0]) * Double(scale) }
            let m = values.max()!
            let sum = values.reduce(0) { $0 + Foundation.exp($1 - m) }
            for j in 0..<valid {
                out[r * cols + j] = log ? values[j] - m - Foundation.log(sum) : Foundation.exp(values[j] - m) / sum
            }
        }
        return out
    }

    static let shapes: [(Int, Int)] = [(1, 1), (1, 7), (3, 13), (5, 257), (7, 100), (13, 33), (2, 1000), (41, 768)]

    @Test(arguments: [1, 2])
    func softmaxMatchesReference(variant: Int) throws {
        let family = SoftmaxFamily(environment: TestDevice.environment(forcing: SoftmaxFamily.Variant.number(variant)))
        var random = TestRandom(seed: 11)
        for (rows, cols) in Self.shapes {
            for log in [false, true] {
                for scale: Float in [1, 0.125, -2, 30] {   // 30: differences up to 240, exp underflows to 0
                    let x = random.floats(rows * cols, -4, 4)
                    let input = try CLBuffer<Float>(context: TestDevice.context, values: x)
                    let output = try RowOpsGuarded<Float>(count: rows * cols, sentinel: 777)
                    let steps = try family.encode(input: input, output: output.view, rows: rows, cols: cols, log: log, scale: scale)
                    #expect(steps.allSatisfy { $0.variant.hasPrefix("softmax.\(variant)") })
                    try RowOpsTestRun.run(steps)
                    withExtendedLifetime(input) {}   // steps hold raw cl_mem arguments, not the buffers
                    let comment = "variant \(variant) [\(rows), \(cols)] log \(log) scale \(scale)"
                    RowOpsTestRun.compare(Self.reference(x, rows: rows, cols: cols, log: log, scale: scale, mask: nil),
                                          try output.read(comment), comment)
                }
            }
        }
    }

    @Test(arguments: [1, 2])
    func causalMaskMatchesReference(variant: Int) throws {
        let family = SoftmaxFamily(environment: TestDevice.environment(forcing: SoftmaxFamily.Variant.number(variant)))
        var random = TestRandom(seed: 12)
        // (rows, cols, period, offset): square attention, several heads stacked, KV-cache offsets,
        // negative offsets (fully masked rows), offsets past the row end (nothing masked).
        let cases: [(Int, Int, Int, Int)] = [(1, 1, 1, 0), (7, 7, 7, 0), (26, 13, 13, 0), (34, 17, 17, 3),
                                             (10, 5, 5, -2), (6, 9, 3, 20), (40, 40, 40, 0), (33, 257, 33, 224)]
        for (rows, cols, period, offset) in cases {
            for log in [false, true] {
                let mask = CausalMask(period: period, offset: offset)
                let x = random.floats(rows * cols, -3, 3)
                let input = try CLBuffer<Float>(context: TestDevice.context, values: x)
                let output = try RowOpsGuarded<Float>(count: rows * cols, sentinel: 777)
                let steps = try family.encode(input: input, output: output.view, rows: rows, cols: cols, log: log,
                                              scale: 0.3, causalMask: mask)
                try RowOpsTestRun.run(steps)
                withExtendedLifetime(input) {}
                let comment = "variant \(variant) [\(rows), \(cols)] log \(log) mask \(period)/\(offset)"
                RowOpsTestRun.compare(Self.reference(x, rows: rows, cols: cols, log: log, scale: 0.3, mask: mask),
                                      try output.read(comment), comment)
            }
        }
    }

    @Test func inPlaceAndRejections() throws {
        let family = SoftmaxFamily(environment: TestDevice.environment)
        var random = TestRandom(seed: 13)
        let x = random.floats(5 * 19)
        let buffer = try CLBuffer<Float>(context: TestDevice.context, values: x)
        try RowOpsTestRun.run(try family.encode(input: buffer, output: buffer, rows: 5, cols: 19))
        RowOpsTestRun.compare(Self.reference(x, rows: 5, cols: 19, log: false, scale: 1, mask: nil),
                              try buffer.download(), "in place")
        #expect(throws: KernelVariantError.self) { try SoftmaxFamily.Variant.numbered(9) }
        #expect(throws: CLError.self) { try family.encode(input: buffer, output: buffer, rows: 6, cols: 19) }
        #expect(throws: RowOpsError.self) {
            try family.encode(input: buffer, output: buffer, rows: 5, cols: 19, causalMask: CausalMask(period: 0, offset: 0))
        }
        #expect(try family.encode(input: buffer, output: buffer, rows: 0, cols: 19).isEmpty)
    }
}
