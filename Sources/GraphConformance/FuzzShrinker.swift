import TensorGraph

/// Shrinks a failing fuzz graph to a small one that still fails, delta-debugging style: keep one
/// failing output, cut subgraphs (a node becomes an input filled over the range of its reference
/// values), bypass nodes (a node's consumers read its same-shaped operand instead), and shrink
/// dimensions (every occurrence of a size replaced by a smaller one). Each candidate is checked on
/// its own plan; a candidate that still fails is kept, until nothing shrinks or the budget is spent.
struct FuzzShrinker {
    let runner: FuzzRunner
    /// The most candidates to check.
    let budget: Int

    func shrink(_ graph: FuzzGraph, outcome: FuzzOutcome) -> (FuzzGraph, FuzzOutcome) {
        var current = graph.pruned(), currentOutcome = outcome, checks = 0
        /// Checks `candidate`; keeps it when it still fails on the backend (not when it only fails to build).
        func attempt(_ candidate: FuzzGraph) -> Bool {
            guard checks < budget, let candidate = candidate.refreshed() else { return false }
            checks += 1
            let result = runner.check([candidate])[0]
            let reproduces = !result.failingOutputs.isEmpty
                || (result.error.map { !$0.hasPrefix("build:") && !$0.hasPrefix("reference:") } ?? false)
            if reproduces { (current, currentOutcome) = (candidate, result) }
            return reproduces
        }

        // One failing output (or assignment), the rest dropped.
        if current.outputs.count + current.assignments.count > 1 {
            let failing = currentOutcome.failingOutputs.map(\.output)
            for k in (failing.isEmpty ? Array(0..<(current.outputs.count + current.assignments.count)) : failing) {
                var candidate = current
                if k < current.outputs.count {
                    candidate.outputs = [current.outputs[k]]
                    candidate.assignments = []
                } else {
                    candidate.outputs = []
                    candidate.assignments = [current.assignments[k - current.outputs.count]]
                }
                if attempt(candidate.pruned()) { break }
            }
        }
        var progress = true
        while progress && checks < budget {
            progress = false
            // Cut: from the outputs backwards, so the first success drops the most.
            for i in current.nodes.indices.reversed() where i < current.nodes.count {
                guard current.isComputed(i), !current.outputs.contains(i), !current.assignments.contains(where: { $0.value == i }),
                      current.nodes[i].dtype == .f32,
                      let fills = current.referenceFills() else { continue }
                var candidate = current
                candidate.nodes[i] = FuzzGraph.Node(op: .input(name: candidate.unusedInputName()), inputs: [],
                                                    shape: current.nodes[i].shape, dtype: .f32,
                                                    fill: fills[i] ?? .uniform(-2, 2))
                if attempt(candidate.pruned()) { progress = true }
            }
            // Bypass: a node's consumers read one of its operands of the same shape and dtype.
            // An epsilon or an offset (`x + 0.5` before a log) stays: without it the graph leaves the op's domain.
            for i in current.nodes.indices.reversed() where i < current.nodes.count && current.isComputed(i)
                && !current.addsScalarConstant(i) {
                let node = current.nodes[i]
                for operand in Set(node.inputs) where current.nodes[operand].shape == node.shape
                    && current.nodes[operand].dtype == node.dtype {
                    if attempt(current.rewired(i, to: operand).pruned()) { progress = true; break }
                }
            }
            // Dimensions: each size of an input, largest first, replaced by 1, 2 or its half.
            let sizes = Set(current.nodes.filter(\.op.isInput)
                .flatMap(\.shape.dims)).filter { $0 > 1 }.sorted(by: >)
            for size in sizes {
                for smaller in Array(Set([1, 2, size / 2])).filter({ $0 >= 1 && $0 < size }).sorted() {
                    if attempt(current.replacingSize(size, with: smaller)) { progress = true; break }
                }
            }
        }
        return (current, currentOutcome)
    }
}

extension FuzzGraph {
    /// True for nodes that compute something (not inputs, variables or constants).
    func isComputed(_ i: Int) -> Bool {
        switch nodes[i].op {
        case .input, .variable, .constant: return false
        default: return true
        }
    }

    /// True for `x + c` with a one-element constant `c`.
    func addsScalarConstant(_ i: Int) -> Bool {
        guard case .binary(.add) = nodes[i].op else { return false }
        return nodes[i].inputs.contains { nodes[$0].op.constantValues?.count == 1 }
    }

    /// An input name no node uses.
    func unusedInputName() -> String {
        let used = Set(nodes.compactMap { node -> String? in
            if case .input(let name) = node.op { return name }
            return nil
        })
        var k = 0
        while used.contains("cut\(k)") { k += 1 }
        return "cut\(k)"
    }

    /// Every use of node `i` (operands and outputs) replaced by node `j`.
    func rewired(_ i: Int, to j: Int) -> FuzzGraph {
        var copy = self
        for k in copy.nodes.indices { copy.nodes[k].inputs = copy.nodes[k].inputs.map { $0 == i ? j : $0 } }
        copy.outputs = copy.outputs.map { $0 == i ? j : $0 }
        copy.assignments = copy.assignments.map { ($0.variable, $0.value == i ? j : $0.value) }
        return copy
    }

    /// The graph with every dimension `size` (in inputs, constants, reshapes, dropout masks, slices,
    /// index bounds) replaced by `smaller`; nil-free but possibly inconsistent (then it fails to build).
    func replacingSize(_ size: Int, with smaller: Int) -> FuzzGraph {
        func map(_ shape: Shape) -> Shape { Shape(shape.dims.map { $0 == size ? smaller : $0 }) }
        var copy = self
        for k in copy.nodes.indices {
            var node = copy.nodes[k]
            switch node.op {
            case .input, .variable, .constant: node.shape = map(node.shape)
            case .reshape(let shape): node.op = .reshape(map(shape))
            case let .dropoutMask(shape, keep, salt): node.op = .dropoutMask(shape: map(shape), keep: keep, salt: salt)
            case let .slice(axis, start, end) where end > smaller && nodes[node.inputs[0]].shape.dims[axis] == size:
                let newEnd = Swift.min(end, smaller)
                node.op = .slice(axis: axis, start: Swift.min(start, newEnd - 1), end: newEnd)
            case .embeddingGrad(let vocabulary) where vocabulary == size: node.op = .embeddingGrad(vocabularySize: smaller)
            default: break
            }
            switch node.fill {
            case .indices(let bound) where bound == size: node.fill = .indices(smaller)
            case let .targets(classes, ignore, fraction) where classes == size:
                node.fill = .targets(smaller, ignore: ignore, ignoreFraction: fraction)
            default: break
            }
            copy.nodes[k] = node
        }
        return copy
    }

    /// The graph with every node's shape and dtype as inferred now; nil when it does not build.
    func refreshed() -> FuzzGraph? {
        guard let tensors = try? build(into: Graph()) else { return nil }
        var copy = self
        for (i, tensor) in tensors.enumerated() {
            guard let tensor else { continue }
            copy.nodes[i].shape = tensor.shape
            copy.nodes[i].dtype = tensor.dtype
        }
        return copy
    }

    /// Per computed f32 node, a uniform fill over the range of its reference values (nil when the
    /// reference cannot run the graph).
    func referenceFills() -> [Int: InputFill]? {
        let graph = Graph()
        guard let tensors = try? build(into: graph) else { return nil }
        let computed = tensors.indices.filter { tensors[$0] != nil && isComputed($0) && nodes[$0].dtype == .f32 }
        guard let plan = try? ReferenceBackend().compile(graph, outputs: computed.map { tensors[$0]! }, options: CompileOptions()),
              (try? variableValues(seed: seed).forEach { try plan.setVariable($0.key, $0.value) }) != nil,
              let values = try? plan.run(feeds(seed: seed)) else { return nil }
        var fills: [Int: InputFill] = [:]
        for (i, value) in zip(computed, values) {
            let finite = value.floats.filter(\.isFinite)
            guard let lo = finite.min(), let hi = finite.max() else { continue }
            fills[i] = .uniform(Double(lo), Double(hi > lo ? hi : lo + 1e-3))
        }
        return fills
    }
}
