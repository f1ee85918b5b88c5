@testable import CLBackend
import TensorGraph
import Testing

/// Values named by their index, as the plans number them.
extension ValueID: ExpressibleByIntegerLiteral {
    public init(integerLiteral index: Int) { self.init(index: index) }
}

@Suite struct MemoryPlannerTests {
    private func op(_ inputs: [ValueID], _ output: ValueID) -> LoweredOp {
        LoweredOp(label: "op\(output)", inputs: inputs, output: output) { _ in [] }
    }

    private func intermediate(_ id: ValueID, _ count: Int, output: Bool = false) -> PlannedValue {
        var value = PlannedValue(id: id, count: count, dtype: .f32, role: .intermediate)
        value.isOutput = output
        return value
    }

    @Test func chainReusesBuffersWithoutOverlap() {
        // input(0) → a(1) → b(2) → c(3) → d(4, output): a and c can share, b and d cannot (d is an output).
        let values = [PlannedValue(id: 0, count: 10, dtype: .f32, role: .input("x")),
                      intermediate(1, 10), intermediate(2, 10), intermediate(3, 10), intermediate(4, 10, output: true)]
        let ops = [op([0], 1), op([1], 2), op([2], 3), op([3], 4)]
        let plan = MemoryPlanner.plan(ops: ops, values: values)
        #expect(plan.slots.count == 2)
        #expect(plan.slotOfValue[1] == plan.slotOfValue[3])
        #expect(plan.slotOfValue[1] != plan.slotOfValue[2])
        #expect(plan.slotOfValue[4] == nil)  // outputs own their memory
    }

    @Test func liveValuesNeverShare() {
        // a(1) and b(2) are both read by the last op: they are alive together.
        let values = [PlannedValue(id: 0, count: 4, dtype: .f32, role: .input("x")),
                      intermediate(1, 4), intermediate(2, 4), intermediate(3, 4, output: true)]
        let ops = [op([0], 1), op([0], 2), op([1, 2], 3)]
        let plan = MemoryPlanner.plan(ops: ops, values: values)
        #expect(plan.slotOfValue[1] != plan.slotOfValue[2])
    }

    @Test func anOpNeverWritesIntoABufferItReads() {
        let values = [PlannedValue(id: 0, count: 4, dtype: .f32, role: .input("x")),
                      intermediate(1, 4), intermediate(2, 4), intermediate(3, 4, output: true)]
        let ops = [op([0], 1), op([1], 2), op([2], 3)]
        let plan = MemoryPlanner.plan(ops: ops, values: values)
        #expect(plan.slotOfValue[1] != plan.slotOfValue[2])
    }

    @Test func slotsGrowToTheLargestValueAndTypesStaySeparate() {
        var indices = PlannedValue(id: 2, count: 100, dtype: .i32, role: .intermediate)
        indices.isOutput = false
        let values = [PlannedValue(id: 0, count: 4, dtype: .f32, role: .input("x")),
                      intermediate(1, 4), indices, intermediate(3, 50), intermediate(4, 1, output: true)]
        let ops = [op([0], 1), op([1], 2), op([2], 3), op([3], 4)]
        let plan = MemoryPlanner.plan(ops: ops, values: values)
        let slotOf1 = plan.slotOfValue[1]!, slotOf3 = plan.slotOfValue[3]!
        #expect(slotOf1 == slotOf3)
        #expect(plan.slots[slotOf3].count == 50)
        #expect(plan.slotOfValue[2] != slotOf1)
        #expect(plan.slots[plan.slotOfValue[2]!].isInt)
    }
}
