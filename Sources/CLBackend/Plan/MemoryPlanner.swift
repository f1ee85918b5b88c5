import TensorGraph

/// Assigns intermediate values to shared buffers: a value's buffer is reused by a later value
/// once every reader of the first has run (lifetimes that do not overlap share memory).
struct MemoryPlanner {
    struct Assignment {
        /// Value id → slot index; slots are the buffers actually allocated.
        var slotOfValue: [ValueID: Int] = [:]
        /// Element count and dtype of each slot (the largest value it holds).
        var slots: [(count: Int, isInt: Bool)] = []
    }

    /// - Parameters:
    ///   - ops: the lowered ops in execution order.
    ///   - values: every value; only `.intermediate` non-output values are pooled.
    static func plan(ops: [LoweredOp], values: [PlannedValue]) -> Assignment {
        let pooled = Set(values.filter { $0.role == .intermediate && !$0.isOutput }.map(\.id))
        var lastUse: [ValueID: Int] = [:]
        for (index, op) in ops.enumerated() {
            for input in op.inputs where pooled.contains(input) { lastUse[input] = index }
        }
        var assignment = Assignment()
        var free: [Int] = []  // slot indices available
        for (index, op) in ops.enumerated() {
            // Every value the op writes gets a slot before any is released, so one launch's
            // outputs (a horizontally fused one has several) never share a buffer.
            var deadOnArrival: [Int] = []
            for output in [op.output] + op.extraOutputs {
                let value = values[output]
                guard pooled.contains(value.id) && assignment.slotOfValue[value.id] == nil else { continue }
                let isInt = value.dtype == .i32
                // Best fit: the smallest free slot of the same type that is large enough, else grow the largest.
                let candidates = free.filter { assignment.slots[$0].isInt == isInt }
                if let slot = candidates.filter({ assignment.slots[$0].count >= value.count })
                    .min(by: { assignment.slots[$0].count < assignment.slots[$1].count })
                    ?? candidates.max(by: { assignment.slots[$0].count < assignment.slots[$1].count })
                {
                    free.removeAll { $0 == slot }
                    assignment.slots[slot].count = max(assignment.slots[slot].count, value.count)
                    assignment.slotOfValue[value.id] = slot
                } else {
                    assignment.slots.append((value.count, isInt))
                    assignment.slotOfValue[value.id] = assignment.slots.count - 1
                }
                // A value nobody reads is dead right after it is written.
                if lastUse[value.id] == nil { deadOnArrival.append(assignment.slotOfValue[value.id]!) }
            }
            free += deadOnArrival
            // Release the inputs whose last reader is this op (after the output was placed,
            // so an op never writes into a buffer it is reading).
            for input in Set(op.inputs) where pooled.contains(input) && lastUse[input] == index {
                if let slot = assignment.slotOfValue[input] { free.append(slot) }
            }
        }
        return assignment
    }
}
