import Foundation
import TensorGraph

/// How one fuzz graph compared with the reference.
public struct FuzzOutcome: Sendable {
    /// The graph's seed.
    public let seed: UInt64
    /// Outputs compared.
    public let outputsChecked: Int
    /// Per failing output: its position in the graph's outputs, its error (NMSE, see
    /// ``FuzzRunner/relativeError(reference:actual:operandMeanSquare:)``), and whether NaN/Inf differ.
    public let failingOutputs: [(output: Int, nmse: Double, nonFiniteMismatch: Bool)]
    /// A build, compile or run error (on either backend) or a shape mismatch.
    public let error: String?
    /// How many of the checked results are outputs; the rest are assigned variables, in order.
    public var outputCount: Int? = nil
    /// No error and every output within the bound.
    public var passed: Bool { error == nil && failingOutputs.isEmpty }

    /// One line: `passed` or what failed.
    public var summary: String {
        if let error { return "error: \(error)" }
        if failingOutputs.isEmpty { return "passed" }
        return failingOutputs.map { failure in
            let what = failure.output < (outputCount ?? .max) ? "output \(failure.output)"
                : "assigned variable \(failure.output - outputCount!) after the run"
            return "\(what): " + (failure.nonFiniteMismatch ? "NaN/Inf where the reference has none (or the reverse)"
                                               : String(format: "NMSE %.3e", failure.nmse))
        }.joined(separator: "; ")
    }
}

/// A failing graph, with its minimal reproduction.
public struct FuzzFailure: Sendable, CustomStringConvertible {
    /// The seed that regenerates the graph (`clbench fuzz --seed S --graphs 1`).
    public let seed: UInt64
    /// The graph as generated.
    public let graph: FuzzGraph
    /// What failed on the graph as generated.
    public let outcome: FuzzOutcome
    /// The smallest graph found that still fails, and what failed on it.
    public let minimal: FuzzGraph
    public let minimalOutcome: FuzzOutcome
    /// Set when the graph passes alone and fails only in a plan shared with other graphs: the seeds of those graphs.
    public let sharedPlanSeeds: [UInt64]?

    /// The seed, what failed, and the minimal graph's ops and shapes, one per line.
    public var description: String {
        let variant = graph.dimensionVariant == 0 ? "" : " (dimension variant \(graph.dimensionVariant))"
        var text = "fuzz graph seed \(seed)\(variant) failed: \(outcome.summary)\n"
        if let sharedPlanSeeds {
            text += "  it passes alone; it fails compiled into one plan with the graphs of seeds "
                + sharedPlanSeeds.map(String.init).joined(separator: ", ") + "\n"
        }
        text += "  minimal reproduction (\(minimal.opCount) ops; was \(graph.opCount)): \(minimalOutcome.summary)\n"
        text += minimal.description.split(separator: "\n").map { "    " + $0 }.joined(separator: "\n")
        return text
    }
}

/// Totals of a fuzz run.
public struct FuzzSummary: Sendable {
    /// Graphs generated and checked.
    public var graphs = 0
    /// Ops in them (forward and backward; inputs and constants not counted).
    public var ops = 0
    /// Outputs and assigned variables compared with the reference.
    public var outputsChecked = 0
    /// Plans compiled for the graphs (several graphs share one plan).
    public var plans = 0
    /// The graphs that failed.
    public var failures: [FuzzFailure] = []
    /// Creates an empty summary.
    public init() {}
}

/// Runs random graphs (``GraphFuzzer``) on a backend and on ``ReferenceBackend`` and compares
/// every output: NMSE (``ConformanceRunner/nmse(reference:actual:)``) within ``bound`` and
/// NaN/Inf exactly where the reference has them (``ConformanceRunner/nonFiniteMismatch(reference:actual:)``).
///
/// Several graphs share one plan (``graphsPerPlan``): their nodes are interleaved by depth, so
/// the backend's horizontal fusion merges elementwise groups of different graphs into one
/// launch and a plan's generated programs serve many graphs — a backend that builds each new
/// program for a second (pocl) then checks hundreds of graphs a minute. A graph that fails in a
/// shared plan is checked alone; a failing graph is shrunk (``FuzzShrinker``) to a minimal reproduction.
public struct FuzzRunner {
    /// The backend under test.
    public let backend: any Backend
    /// Options its plans are compiled with.
    public let options: CompileOptions
    /// The NMSE one op may add: the conformance table's per-op bound. An output is held to this
    /// bound times the number of ops it depends on, since each adds its own rounding.
    public let bound: Double
    /// How many graphs one plan holds.
    public let graphsPerPlan: Int
    /// Checks the shrinker may spend per failure (each compiles a plan).
    public let shrinkChecks: Int

    /// Creates a runner.
    public init(backend: any Backend, options: CompileOptions = CompileOptions(), bound: Double = ConformanceTable.exact,
                graphsPerPlan: Int = 16, shrinkChecks: Int = 150) {
        self.backend = backend
        self.options = options
        self.bound = bound
        self.graphsPerPlan = max(1, graphsPerPlan)
        self.shrinkChecks = shrinkChecks
    }

    /// Generates and checks the graphs of `seeds`, each batch under dimension variants
    /// `configuration.dimensionVariant ..< + dimensionVariants` (see ``FuzzConfiguration/dimensionVariant``:
    /// the variants of one batch share most of their programs); `progress` hears (graphs done,
    /// total, failures so far).
    public func run(seeds: [UInt64], configuration: FuzzConfiguration = FuzzConfiguration(), dimensionVariants: Int = 1,
                    progress: ((Int, Int, Int) -> Void)? = nil) -> FuzzSummary {
        var summary = FuzzSummary()
        var start = 0
        let total = seeds.count * max(1, dimensionVariants)
        while start < seeds.count {
            let batchSeeds = seeds[start..<min(start + graphsPerPlan, seeds.count)]
            start += batchSeeds.count
            for r in 0..<max(1, dimensionVariants) {
                var variant = configuration
                variant.dimensionVariant = configuration.dimensionVariant + r
                let batch = batchSeeds.map { GraphFuzzer.generate(seed: $0, configuration: variant) }
                summary.plans += 1
                let outcomes = check(batch)
                for (graph, outcome) in zip(batch, outcomes) {
                    summary.graphs += 1
                    summary.ops += graph.opCount
                    summary.outputsChecked += outcome.outputsChecked
                    guard !outcome.passed else { continue }
                    summary.failures.append(failure(graph, outcome, batch: batch))
                }
                progress?(summary.graphs, total, summary.failures.count)
            }
        }
        return summary
    }

    /// The failure record of `graph`: checked alone (and shrunk when it fails alone).
    func failure(_ graph: FuzzGraph, _ outcome: FuzzOutcome, batch: [FuzzGraph]) -> FuzzFailure {
        let alone = batch.count == 1 ? outcome : check([graph])[0]
        if alone.passed {
            return FuzzFailure(seed: graph.seed, graph: graph, outcome: outcome, minimal: graph, minimalOutcome: outcome,
                               sharedPlanSeeds: batch.map(\.seed).filter { $0 != graph.seed })
        }
        let shrinker = FuzzShrinker(runner: self, budget: shrinkChecks)
        let (minimal, minimalOutcome) = shrinker.shrink(graph, outcome: alone)
        return FuzzFailure(seed: graph.seed, graph: graph, outcome: alone, minimal: minimal, minimalOutcome: minimalOutcome,
                           sharedPlanSeeds: nil)
    }

    /// Checks `graphs` compiled together into one plan (one graph: a plan of its own); one outcome per graph.
    /// Each graph's outputs are compared, then its assigned variables after the run (numbered after
    /// the outputs). When the shared plan fails to compile or run, each graph is checked alone.
    public func check(_ graphs: [FuzzGraph]) -> [FuzzOutcome] {
        func failed(_ message: String) -> [FuzzOutcome] {
            graphs.map { FuzzOutcome(seed: $0.seed, outputsChecked: 0, failingOutputs: [], error: message) }
        }
        func checkAlone() -> [FuzzOutcome] { graphs.flatMap { check([$0]) } }
        let graph = Graph()
        var outputs: [Tensor] = [], assignments: [Assignment] = [], assignedNames: [String] = []
        var feeds: [String: TensorData] = [:], variables: [String: TensorData] = [:]
        do {
            let built = try Self.buildInterleaved(graphs, into: graph)
            for (j, fuzz) in graphs.enumerated() {
                let prefix = Self.prefix(j, of: graphs.count)
                outputs += fuzz.outputs.map { built[j][$0]! }
                assignments += try fuzz.assignments(built[j])
                assignedNames += fuzz.assignedVariableNames.map { prefix + $0 }
                feeds.merge(fuzz.feeds(seed: fuzz.seed, prefix: prefix)) { $1 }
                variables.merge(fuzz.variableValues(seed: fuzz.seed, prefix: prefix)) { $1 }
            }
        } catch {
            return graphs.count == 1 ? failed("build: \(error)") : checkAlone()
        }
        /// Compiles on `backend`, sets the variables, runs once; returns the outputs, then the assigned variables.
        func evaluate(_ backend: any Backend, _ options: CompileOptions, extra: [Tensor] = []) throws -> [TensorData] {
            let plan = try backend.compile(graph, outputs: outputs + extra, assignments: assignments, options: options)
            for (name, value) in variables { try plan.setVariable(name, value) }
            let results = try plan.run(feeds)
            return Array(results[..<outputs.count]) + (try assignedNames.map { try plan.variable($0) }) + results[outputs.count...]
        }
        // What is compared: the outputs, then the values assigned to variables.
        let checked = outputs + assignments.map(\.value)
        // The reference also returns the values each checked tensor is computed from (two levels
        // up): their power is the scale a result that cancels to (nearly) zero is judged against
        // (see ``relativeError``).
        let nearby = checked.map { Self.nearAncestors(of: $0.id, in: graph, levels: 2) }
        let extra = Array(Set(nearby.flatMap { $0 })).sorted()
        let extraIndex = Dictionary(uniqueKeysWithValues: extra.enumerated().map { ($1, $0) })
        let expected: [TensorData], extraValues: [TensorData]
        do {
            let all = try evaluate(ReferenceBackend(), CompileOptions(), extra: extra.map(graph.tensor))
            expected = Array(all[..<checked.count])
            extraValues = Array(all[checked.count...])
        } catch {
            return graphs.count == 1 ? failed("reference: \(error)") : checkAlone()
        }
        let extraScales = extraValues.map { Self.meanSquare($0.floats) }
        let operandScales = nearby.map { ids in ids.map { extraScales[extraIndex[$0]!] }.max() ?? 0 }
        let bounds = checked.map { bound * Double(max(1, Self.computedDependencies(of: $0.id, in: graph))) }
        let actual: [TensorData]
        do {
            actual = try evaluate(backend, options)
        } catch {
            return graphs.count == 1 ? failed("\(backend.name): \(error)") : checkAlone()
        }
        // Positions in `checked` of each graph's outputs and assignments.
        var outputStart = 0, assignmentStart = outputs.count
        return graphs.map { fuzz in
            let positions = Array(outputStart..<(outputStart + fuzz.outputs.count))
                + Array(assignmentStart..<(assignmentStart + fuzz.assignments.count))
            outputStart += fuzz.outputs.count
            assignmentStart += fuzz.assignments.count
            var failing: [(Int, Double, Bool)] = []
            var error: String?
            for (k, position) in positions.enumerated() {
                let (e, a) = (expected[position], actual[position])
                guard e.shape == a.shape, e.dtype == a.dtype else {
                    error = "output \(k): \(a.dtype.rawValue) \(a.shape), expected \(e.dtype.rawValue) \(e.shape)"
                    continue
                }
                let (ef, af) = e.dtype == .i32 ? (e.ints.map(Float.init), a.ints.map(Float.init)) : (e.floats, a.floats)
                let mismatch = ConformanceRunner.nonFiniteMismatch(reference: ef, actual: af)
                let relative = Self.relativeError(reference: ef, actual: af, operandMeanSquare: operandScales[position])
                if mismatch || !(relative <= bounds[position]) { failing.append((k, relative, mismatch)) }
            }
            var outcome = FuzzOutcome(seed: fuzz.seed, outputsChecked: positions.count, failingOutputs: failing, error: error)
            outcome.outputCount = fuzz.outputs.count
            return outcome
        }
    }

    /// ``ConformanceRunner/nmse(reference:actual:)``, except that the squared error is divided by
    /// at least `count × operandMeanSquare`, the largest mean square of the values the output is
    /// computed from (two levels up): an output that cancels to nearly zero (`x − sum(x·softmax)`
    /// with x constant along the axis, the softmax backward of a broadcast gradient) carries rounding
    /// noise of the size of its operands' last bits, which is relatively huge against a zero result
    /// and says nothing about correctness. A wrong result of the operands' size still fails.
    static func relativeError(reference: [Float], actual: [Float], operandMeanSquare: Double) -> Double {
        let nmse = ConformanceRunner.nmse(reference: reference, actual: actual)
        let power = reference.reduce(0.0) { $1.isFinite ? $0 + Double($1) * Double($1) : $0 }
        let floor = Double(reference.count) * operandMeanSquare
        guard power < floor, nmse.isFinite else { return nmse }
        return nmse * (power == 0 ? 1 : power) / floor
    }

    /// The f32 nodes within `levels` steps upstream of `id`: its operands, their operands, …
    static func nearAncestors(of id: NodeID, in graph: Graph, levels: Int) -> [NodeID] {
        var found = Set<NodeID>(), frontier = [id]
        for _ in 0..<levels {
            frontier = frontier.flatMap { graph.node($0).inputs }.filter { graph.node($0).dtype == .f32 && found.insert($0).inserted }
        }
        return found.sorted()
    }

    /// How many ops (not inputs or constants) `id` depends on, itself included.
    static func computedDependencies(of id: NodeID, in graph: Graph) -> Int {
        var seen = Set<NodeID>(), stack = [id], count = 0
        while let next = stack.popLast() {
            guard seen.insert(next).inserted else { continue }
            let node = graph.node(next)
            switch node.op {
            case .input, .variable, .constant: continue
            default: count += 1
            }
            stack += node.inputs
        }
        return count
    }

    /// Mean of the squares of the finite values (0 when there are none).
    static func meanSquare(_ values: [Float]) -> Double {
        let finite = values.filter(\.isFinite)
        return finite.isEmpty ? 0 : finite.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(finite.count)
    }

    /// Input-name prefix of graph `j` in a shared plan (none for a plan of one graph).
    static func prefix(_ j: Int, of count: Int) -> String { count == 1 ? "" : "g\(j)_" }

    /// Adds every graph's live nodes to `graph`, ordered by depth and then by graph, so elementwise
    /// groups of equal depth from different graphs are pending together (horizontal fusion).
    static func buildInterleaved(_ graphs: [FuzzGraph], into graph: Graph) throws -> [[Tensor?]] {
        var order: [(depth: Int, graph: Int, node: Int)] = []
        for (j, fuzz) in graphs.enumerated() {
            let depths = fuzz.depths()
            for i in fuzz.liveNodes() { order.append((depths[i], j, i)) }
        }
        order.sort { ($0.depth, $0.graph, $0.node) < ($1.depth, $1.graph, $1.node) }
        var tensors = graphs.map { [Tensor?](repeating: nil, count: $0.nodes.count) }
        for entry in order {
            try graphs[entry.graph].buildNode(entry.node, into: graph, prefix: prefix(entry.graph, of: graphs.count),
                                              tensors: &tensors[entry.graph])
        }
        return tensors
    }
}
