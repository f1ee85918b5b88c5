import TensorGraph

/// Generates the OpenCL C source of one fused elementwise kernel.
///
/// Sizes, scalar constants and broadcast strides arrive as kernel arguments, never as literals,
/// so groups with the same structure share one program whatever their shapes and constants
/// (pocl compiles each new program in ~1 s cold).
struct ElementwiseKernelSource {
    /// How a leaf is indexed from the output's linear index `i`.
    enum LeafAccess: Equatable {
        case same                 // leaf[i]
        case scalar               // leaf[0]
        case period(Int)          // leaf[i % period]: the leaf is a trailing block of the output's dims
        case divisor(Int)         // leaf[i / divisor]: the leaf is a leading block, broadcast over the rest
        case general([Int32])     // leaf[offset(i, meta)], meta = [rank, dims…, strides…]
    }

    enum Argument {
        /// An extra output buffer (a member written besides the root).
        case output(NodeID)
        case leaf(NodeID, LeafAccess)
        case scalar(Float)
    }

    let source: String
    /// Arguments after `out` and `n`, in order.
    let arguments: [Argument]

    static func access(leaf: Shape, output: Shape) -> LeafAccess {
        if leaf.count == output.count { return .same }
        if leaf.count == 1 { return .scalar }
        let rank = output.rank
        let padded = [Int](repeating: 1, count: rank - leaf.rank) + leaf.dims
        // Trailing block: leading dims 1, then equal to the output's.
        if let first = padded.firstIndex(where: { $0 != 1 }),
           Array(padded[first...]) == Array(output.dims[first...]) {
            return .period(leaf.count)
        }
        // Leading block: equal to the output's, then 1s.
        if let last = padded.lastIndex(where: { $0 != 1 }),
           Array(padded[...last]) == Array(output.dims[...last]),
           padded[(last + 1)...].allSatisfy({ $0 == 1 }) {
            return .divisor(output.count / leaf.count)
        }
        var strides = [Int](repeating: 0, count: rank)
        var running = 1
        for axis in stride(from: rank - 1, through: 0, by: -1) {
            strides[axis] = padded[axis] == 1 ? 0 : running
            running *= padded[axis]
        }
        return .general([Int32(rank)] + output.dims.map { Int32($0) } + strides.map { Int32($0) })
    }

    init(group: ElementwiseGroup, graph: Graph) {
        let output = graph.node(group.root).shape
        var parameters = ["__global float *out", "const int n", "const int per_item"]
        var arguments: [Argument] = []
        /// How each leaf or constant is read: its parameter name and access pattern (nil: a scalar argument).
        var reads: [NodeID: (name: String, access: LeafAccess?)] = [:]
        var usesGeneral = false

        for leaf in group.leaves {
            let node = graph.node(leaf)
            let index = arguments.count
            if ElementwiseFusion.isScalarConstant(node), case .constant(let values) = node.op {
                arguments.append(.scalar(values[0]))
                parameters.append("const float k\(index)")
                reads[leaf] = ("k\(index)", nil)
                continue
            }
            let access = Self.access(leaf: node.shape, output: output)
            arguments.append(.leaf(leaf, access))
            parameters.append("__global const float *in\(index)")
            switch access {
            case .same, .scalar: break
            case .period: parameters.append("const int period\(index)")
            case .divisor: parameters.append("const int divisor\(index)")
            case .general:
                parameters.append("__global const int *meta\(index)")
                usesGeneral = true
            }
            reads[leaf] = ("in\(index)", access)
        }

        // The expressions, shared by the scalar and the float16 forms.
        for extra in group.extraOutputs {
            parameters.append("__global float *out\(arguments.count)")
            arguments.append(.output(extra))
        }
        var expressions: [(name: String, text: String)] = []
        var names: [NodeID: String] = [:]
        for leaf in group.leaves { names[leaf] = reads[leaf]!.access == nil ? reads[leaf]!.name : "a_" + reads[leaf]!.name }
        for (position, member) in group.members.enumerated() {
            let node = graph.node(member)
            var scalarArgument: Float?
            let text = Self.expression(node.op, node.inputs.map { names[$0]! }, scalar: { value in
                scalarArgument = value
                return "k\(arguments.count)"
            })
            if let scalarArgument {
                parameters.append("const float k\(arguments.count)")
                arguments.append(.scalar(scalarArgument))
            }
            expressions.append(("t\(position)", text))
            names[member] = "t\(position)"
        }
        let result = names[group.root]!
        let extraStores: [(buffer: String, value: String)] = arguments.enumerated().compactMap { index, argument in
            if case .output(let node) = argument { return ("out\(index)", names[node]!) }
            return nil
        }

        /// Loads, body and store for lane type `type` ("float" at element `i`, "float16" at `base`).
        func block(vector: Bool, indent: String) -> String {
            let type = vector ? "float16" : "float"
            var lines: [String] = []
            for leaf in group.leaves {
                guard let access = reads[leaf]!.access else { continue }
                let input = reads[leaf]!.name
                let load: String
                if !vector {
                    switch access {
                    case .same: load = "\(input)[i]"
                    case .scalar: load = "\(input)[0]"
                    case .period: load = "\(input)[i % period_\(input)]"
                    case .divisor: load = "\(input)[i / divisor_\(input)]"
                    case .general: load = "\(input)[broadcast_offset(i, meta_\(input))]"
                    }
                } else {
                    switch access {
                    case .same: load = "vload16(0, \(input) + base)"
                    case .scalar: load = "(float16)(\(input)[0])"
                    case .period(let p) where p % 16 == 0: load = "vload16(0, \(input) + base % period_\(input))"
                    case .divisor(let d) where d % 16 == 0: load = "(float16)(\(input)[base / divisor_\(input)])"
                    default: load = "gather16_\(input)(\(input), base, \(gatherArgument(access, input)))"
                    }
                }
                lines.append("\(indent)const \(type) a_\(input) = \(load);")
            }
            for expression in expressions {
                let text = expression.text.replacingOccurrences(of: "(T)", with: "(\(type))")
                    .replacingOccurrences(of: "_fast_T(", with: "_fast_\(type)(")
                lines.append("\(indent)const \(type) \(expression.name) = \(text);")
            }
            for (buffer, value) in [("out", result)] + extraStores {
                lines.append(vector ? "\(indent)vstore16(\(value), 0, \(buffer) + base);" : "\(indent)\(buffer)[i] = \(value);")
            }
            return lines.joined(separator: "\n")
        }
        func gatherArgument(_ access: LeafAccess, _ input: String) -> String {
            switch access {
            case .period: return "period_\(input)"
            case .divisor: return "divisor_\(input)"
            default: return "meta_\(input)"
            }
        }

        var text = "// Generated by CLGraph's elementwise fusion (CLKernels has no file for it: the source is built\n"
            + "// per fused group). Kernel fused: one element per work-item (GPU). fused_vec16: per_item\n"
            + "// contiguous elements per work-item as float16 vectors with a scalar tail (CPU).\n"
        if expressions.contains(where: { $0.text.contains("_fast_T(") }) {
            text += (KernelSourceLookup.source("fastmath") ?? "") + "\n"
        }
        if usesGeneral {
            text += """
                inline int broadcast_offset(int i, __global const int *meta) {
                    const int rank = meta[0];
                    int rest = i, offset = 0;
                    for (int d = rank - 1; d >= 0; --d) {
                        const int dim = meta[1 + d];
                        offset += (rest % dim) * meta[1 + rank + d];
                        rest /= dim;
                    }
                    return offset;
                }

                """
        }
        // Per-lane gathers for broadcast patterns a vector load cannot express.
        for leaf in group.leaves {
            guard let access = reads[leaf]!.access else { continue }
            let input = reads[leaf]!.name
            let index: String, extra: String
            switch access {
            case .period(let p) where p % 16 != 0: (index, extra) = ("(base + l) % size", "const int size")
            case .divisor(let d) where d % 16 != 0: (index, extra) = ("(base + l) / size", "const int size")
            case .general: (index, extra) = ("broadcast_offset(base + l, meta)", "__global const int *meta")
            default: continue
            }
            text += """
                inline float16 gather16_\(input)(__global const float *in, const int base, \(extra)) {
                    float lanes[16];
                    for (int l = 0; l < 16; ++l) lanes[l] = in[\(index)];
                    return vload16(0, lanes);
                }

                """
        }
        // Parameter names in the kernels: period_inN / divisor_inN / meta_inN.
        let signature = parameters.map {
            $0.replacingOccurrences(of: "const int period", with: "const int period_in")
                .replacingOccurrences(of: "const int divisor", with: "const int divisor_in")
                .replacingOccurrences(of: "__global const int *meta", with: "__global const int *meta_in")
        }.joined(separator: ", ")
        text += "__kernel void fused(\(signature)) {\n"
        text += "    const int i = get_global_id(0);\n    if (i >= n) return;\n"
        text += block(vector: false, indent: "    ") + "\n}\n\n"
        text += "__kernel void fused_vec16(\(signature)) {\n"
        text += "    const int start = get_global_id(0) * per_item;\n"
        text += "    const int stop = min(start + per_item, n);\n"
        text += "    int base = start;\n"
        text += "    for (; base + 16 <= stop; base += 16) {\n" + block(vector: true, indent: "        ") + "\n    }\n"
        text += "    for (int i = base; i < stop; ++i) {\n" + block(vector: false, indent: "        ") + "\n    }\n}\n"
        self.source = text
        self.arguments = arguments
    }

    /// The OpenCL C expression of one elementwise op; `scalar` turns a constant into an argument name.
    static func expression(_ op: Op, _ x: [String], scalar: (Float) -> String) -> String {
        switch op {
        case .unary(let unary):
            let a = x[0]
            switch unary {
            case .neg: return "-\(a)"
            case .exp: return "exp(\(a))"
            case .log: return "log(\(a))"
            case .sqrt: return "sqrt(\(a))"
            case .rsqrt: return "rsqrt(\(a))"
            case .tanh: return "tanh_fast_T(\(a))"
            case .relu: return "fmax(\(a), 0.0f)"
            case .gelu: return "gelu_fast_T(\(a))"
            case .sigmoid: return "sigmoid_fast_T(\(a))"
            case .abs: return "fabs(\(a))"
            }
        case .binary(let binary):
            let (a, b) = (x[0], x[1])
            switch binary {
            case .add: return "\(a) + \(b)"
            case .sub: return "\(a) - \(b)"
            case .mul: return "\(a) * \(b)"
            case .div: return "\(a) / \(b)"
            case .maximum: return "fmax(\(a), \(b))"
            case .minimum: return "fmin(\(a), \(b))"
            }
        case .powScalar(let p):
            let a = x[0]
            switch p {
            case 1: return a
            case 2: return "\(a) * \(a)"
            case 3: return "\(a) * \(a) * \(a)"
            case 0.5: return "sqrt(\(a))"
            case -0.5: return "rsqrt(\(a))"
            case -1: return "1.0f / \(a)"
            default: return "pow(\(a), (T)(\(scalar(p))))"
            }
        case .compare(let compare):
            // Relational built-ins give 1/0 on scalars and −1/0 on vectors; select() reads both alike.
            let function: String
            switch compare {
            case .less: function = "isless"
            case .lessEqual: function = "islessequal"
            case .greater: function = "isgreater"
            case .greaterEqual: function = "isgreaterequal"
            case .equal: function = "isequal"
            case .notEqual: function = "isnotequal"
            }
            return "select((T)(0.0f), (T)(1.0f), \(function)((T)(\(x[0])), (T)(\(x[1]))))"
        case .select:
            return "select((T)(\(x[2])), (T)(\(x[1])), isnotequal((T)(\(x[0])), (T)(0.0f)))"
        default:
            preconditionFailure("not an elementwise op: \(op)")
        }
    }
}
