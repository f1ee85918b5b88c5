import CLRuntime
import TensorGraph

extension PlanLowering {
    /// Softmax (or log-softmax) along `axis`: rows along the last axis directly, any other axis by
    /// moving it last, normalising, and moving it back.
    func lowerSoftmax(input: ValueID, output: ValueID, shape: Shape, axis: Int, log: Bool, label: String) {
        let cols = shape[axis]
        if axis == shape.rank - 1 {
            let rows = shape.count / max(cols, 1)
            ops.append(LoweredOp(label: label, inputs: [input], output: output) { [unowned self] buffers in
                try self.softmax.encode(input: buffers.floats(input), output: buffers.floats(output), rows: rows,
                                        cols: cols, log: log)
            })
            return
        }
        // Softmax over an inner axis: move the axis last, normalise rows, move it back.
        var order = Array(0..<shape.rank)
        order.remove(at: axis)
        order.append(axis)
        let moved = order.map { shape.dims[$0] }
        var inverse = [Int](repeating: 0, count: order.count)
        for (position, axis) in order.enumerated() { inverse[axis] = position }
        let movedIn = newIntermediate(count: shape.count)
        let movedOut = newIntermediate(count: shape.count)
        let inputStrides = LayoutFamily.strides(shape.dims)
        let movedStrides = LayoutFamily.strides(moved)
        ops.append(LoweredOp(label: label + " (axis to last)", inputs: [input], output: movedIn) { [unowned self] buffers in
            try self.layout.encodeCopy(input: buffers.memory(input), output: buffers.memory(movedIn), isInt: false,
                                       dims: moved, inputStrides: order.map { inputStrides[$0] },
                                       outputStrides: movedStrides, label: label + " (axis to last)")
        })
        ops.append(LoweredOp(label: label, inputs: [movedIn], output: movedOut) { [unowned self] buffers in
            try self.softmax.encode(input: buffers.floats(movedIn), output: buffers.floats(movedOut),
                                    rows: shape.count / max(cols, 1), cols: cols, log: log)
        })
        ops.append(LoweredOp(label: label + " (axis back)", inputs: [movedOut], output: output) { [unowned self] buffers in
            try self.layout.encodeCopy(input: buffers.memory(movedOut), output: buffers.memory(output), isInt: false,
                                       dims: shape.dims, inputStrides: inverse.map { movedStrides[$0] },
                                       outputStrides: inputStrides, label: label + " (axis back)")
        })
    }
}
