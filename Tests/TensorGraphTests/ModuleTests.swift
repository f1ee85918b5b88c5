import Testing
@testable import TensorGraph

/// Modules: parameter names from property paths, declaration, initial values, weights in and out of plans.
@Suite struct ModuleTests {
    struct Block: Module {
        @Key("ln_1") var norm: any UnaryLayer
        var projections: [Linear]
        var gate: Linear?
        var width = 4   // not a parameter: never walked

        init(gated: Bool) {
            projections = [Linear(4, 4), Linear(4, 4, bias: false)]
            gate = gated ? Linear(4, 1) : nil
            norm = LayerNorm(4)   // a keyed property without a value: set once the others are
        }
    }

    struct Net: Module {
        var embed = Embedding(10, 4)
        var blocks = [Block(gated: true), Block(gated: false)]
        @Key("head") var output = Sequential(Linear(4, 8), Tanh(), Linear(8, 3))
    }

    @Test func namesComeFromThePropertyPath() {
        #expect(Net().parameterShapes.map(\.name) == [
            "embed.weight",
            "blocks.0.ln_1.weight", "blocks.0.ln_1.bias", "blocks.0.projections.0.weight", "blocks.0.projections.0.bias",
            "blocks.0.projections.1.weight", "blocks.0.gate.weight", "blocks.0.gate.bias",
            "blocks.1.ln_1.weight", "blocks.1.ln_1.bias", "blocks.1.projections.0.weight", "blocks.1.projections.0.bias",
            "blocks.1.projections.1.weight",
            "head.0.weight", "head.0.bias", "head.2.weight", "head.2.bias",
        ])
        #expect(Net().parameterShapes.first { $0.name == "head.2.weight" }?.shape == [3, 8])
    }

    @Test func aSharedParameterIsOneVariable() throws {
        struct Tied: Module {
            var embed = Embedding(5, 3)
            var head: Linear
            init() { head = Linear(weight: embed.weight, bias: nil) }
        }
        let graph = Graph()
        let names = try Tied().declare(in: graph).map(\.name)
        #expect(names == ["embed.weight"])
        #expect(graph.variables.count == 1)
    }

    @Test func declaringBindsVariablesAndTheForwardPassUsesThem() throws {
        let graph = Graph()
        let net = Net()
        let declared = try net.declare(in: graph, dtypes: ["head.2.weight": .f16])
        #expect(declared.map(\.name) == net.parameterShapes.map(\.name))
        let logits = try net.output(net.embed(graph.input("tokens", [2], dtype: .i32)))
        #expect(logits.shape == [2, 3])
        #expect(try net.parameters().map(\.tensor.id) == declared.map(\.tensor.id))
        let headWeight = try #require(declared.first { $0.name == "head.2.weight" })
        #expect(headWeight.tensor.dtype == .f16)
    }

    @Test func misuseNamesTheParameter() throws {
        let net = Net()
        let undeclared = #expect(throws: GraphError.self) { _ = try net.parameters() }
        #expect(undeclared?.description.contains("\"embed.weight\" is not declared") == true)
        let beforeDeclaring = #expect(throws: GraphError.self) { _ = try net.embed.weight.tensor }
        #expect(beforeDeclaring?.description.contains("declare(in:)") == true)
        let unknown = #expect(throws: GraphError.self) { try Net().declare(in: Graph(), dtypes: ["head.1.weight": .f16]) }
        #expect(unknown?.description.contains("no parameter \"head.1.weight\"") == true)
        try net.declare(in: Graph())
        let twice = #expect(throws: GraphError.self) { try net.declare(in: Graph()) }
        #expect(twice?.description.contains("\"embed.weight\" is already declared") == true)
    }

    @Test func initialValuesFollowTheInitialisersInDeclarationOrder() {
        let values = Net().initialValues(seed: 3)
        #expect(values.count == Net().parameterShapes.count)
        #expect(values["blocks.0.ln_1.weight"]?.floats == [1, 1, 1, 1])
        #expect(values["blocks.0.ln_1.bias"]?.floats == [0, 0, 0, 0])
        var random = XorShiftRandom(seed: 3)
        #expect(values["embed.weight"]?.floats == random.normalArray(count: 40))
        let bound = 1 / Double(4).squareRoot()
        #expect(values["blocks.0.projections.0.weight"]?.floats == random.uniformArray(count: 16, lo: -bound, hi: bound))
        #expect(values["head.2.weight"]!.floats.allSatisfy { abs($0) <= Float(1 / Double(8).squareRoot()) })
    }

    @Test func weightsGoIntoAPlanAndComeBack() throws {
        let graph = Graph()
        let layer = Sequential(Linear(3, 2), ReLU())
        try layer.declare(in: graph)
        let y = try layer(graph.input("x", [1, 3]))
        let plan = try ReferenceBackend().compile(graph, outputs: [y], options: CompileOptions())
        let weights = ["0.weight": TensorData(shape: [2, 3], floats: [1, 0, 0, 0, -1, 0]), "0.bias": TensorData(shape: [2], floats: [0.5, 0])]
        try layer.load(weights, into: plan)
        #expect(try plan.run(["x": TensorData(shape: [1, 3], floats: [1, 2, 3])])[0].floats == [1.5, 0])
        #expect(try layer.values(in: plan) == weights)
        #expect(throws: PlanError.variableNotSet(name: "0.bias")) { try layer.load(["0.weight": weights["0.weight"]!], into: plan) }
    }
}
