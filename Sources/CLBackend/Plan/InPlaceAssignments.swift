/// Which assignments (`variable ← value`) can skip their end-of-run copy: the value is computed
/// straight into the variable's buffer.
///
/// Safe when the value comes from a generated elementwise kernel (each element is read before it
/// is written, by the same work-item) and nothing needs the variable's old contents afterwards:
/// every other reader of the variable runs before that kernel, no other assignment copies from
/// the variable, and the variable is not read back as a plan output. An op that updates one of its
/// inputs (`LoweredOp.sharableInputs`, a KV-cache append) qualifies for that input only. Optimizer updates are this
/// shape: `m ← β·m + (1−β)·g` runs after every read of `m`, so AdamW writes its moments and
/// weights in place instead of copying three buffers per parameter at the end of each step.
enum InPlaceAssignments {
    /// - Returns: value id → the variable value id whose buffer it should use.
    static func targets(copies: [(source: ValueID, target: ValueID)], ops: [LoweredOp], readBack: Set<ValueID>) -> [ValueID: ValueID] {
        var result: [ValueID: ValueID] = [:]
        let sourceCounts = Dictionary(copies.map { ($0.source, 1) }, uniquingKeysWith: +)
        let copiedFrom = Set(copies.map(\.source))
        for copy in copies where sourceCounts[copy.source] == 1 && !readBack.contains(copy.target) && !copiedFrom.contains(copy.target) {
            guard let producer = ops.firstIndex(where: { $0.output == copy.source || $0.extraOutputs.contains(copy.source) }),
                  ops[producer].isElementwise || ops[producer].sharableInputs[copy.source] == copy.target else { continue }
            // Other parts of a horizontally fused launch run alongside: none may read the variable.
            let otherParts = ops[producer].segments.filter { !$0.writes.contains(copy.source) }
            if otherParts.contains(where: { $0.reads.contains(copy.target) }) { continue }
            let laterReader = ops.indices.contains { $0 > producer && ops[$0].inputs.contains(copy.target) }
            if !laterReader { result[copy.source] = copy.target }
        }
        return result
    }
}
