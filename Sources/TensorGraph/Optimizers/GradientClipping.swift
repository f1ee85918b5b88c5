/// Scales every gradient by `min(1, maxNorm / (‖g‖ + 1e-6))`, where ‖g‖ is the L2 norm of all
/// gradients together (PyTorch's `clip_grad_norm_`). Graph ops only: the norm never leaves the device.
public func clipByGlobalNorm(_ gradients: [Tensor], maxNorm: Float) throws -> [Tensor] {
    guard let graph = gradients.first?.graph else { return [] }
    guard maxNorm > 0 else {
        throw GraphError(op: "clipByGlobalNorm", shapes: gradients.map(\.shape), expected: "a positive maximum norm",
                         message: "maxNorm \(maxNorm)")
    }
    // Every square first, then the sums: the squares are independent elementwise ops a backend
    // can run together (one launch), where interleaving each with its sum would order them apart.
    let squares = try gradients.map { try ($0 * $0).reshape([$0.shape.count]) }
    var total: Tensor?
    for square in squares {
        let sum = try square.sum(axis: 0)
        total = try total.map { try $0 + sum } ?? sum
    }
    let norm = try total!.sqrt()
    let scale = try (graph.constant(maxNorm) / (norm + 1e-6)).minimum(graph.constant(1))
    return try gradients.map { try $0 * scale }
}
