import CLRuntime
import TensorGraph

extension PlanLowering {
    /// `x · Wᵀ (+ bias)` with W a quantized variable `[N, K]`: one `QuantMatmulFamily` launch that
    /// dequantizes inside the dot products (the float weights never exist on the device), or for
    /// `f16` weights a `HalfMatmulFamily` launch that converts the halves inside the dot products.
    /// x may have any rank ≥ 2; its leading axes are flattened into M.
    func lowerQuantizedMatmul(_ node: Node, bias: NodeID?, producing result: Node) {
        let inputs = node.inputs.map { value(of: $0) }
        let biasValue = bias.map { value(of: $0) }
        let weight = graph.node(node.inputs[1])
        let format = weight.dtype.quantFormat!
        let n = weight.shape[0], k = weight.shape[1]
        let m = node.shape.count / n
        let output = newIntermediate(count: node.shape.count)
        valueOfNode[result.id] = output
        let label = describe(node) + " \(format.rawValue)" + (bias == nil ? "" : " + bias")
        ops.append(LoweredOp(label: label, inputs: inputs + (biasValue.map { [$0] } ?? []), output: output) { [unowned self] buffers in
            let weights = try buffers.bytes(inputs[1])
            if format == .f16 {
                return try self.halfMatmul.encode(x: buffers.floats(inputs[0]), weights: weights, y: buffers.floats(output),
                                                  bias: biasValue.map { try buffers.floats($0) }, m: m, n: n, k: k)
            }
            return try self.quantMatmul.encode(x: buffers.floats(inputs[0]), weights: weights, y: buffers.floats(output),
                                               bias: biasValue.map { try buffers.floats($0) }, format: format, m: m, n: n, k: k)
        })
    }
}

extension DeviceBuffer {
    /// Uploads a value given to `setVariable`: quantized data (llama.cpp layout) is repacked into the
    /// device layout (`f16` halves go as they are); f32 data for a quantized variable is quantized
    /// (rounded to half) on the host first; an i32 variable takes the values as integers.
    func uploadVariable(_ value: TensorData, name: String, dtype: DType) throws {
        if case .i32(let buffer) = self { return try buffer.upload(value.ints) }
        guard case .bytes(let buffer) = self, let format = dtype.quantFormat else {
            return try floats.upload(value.floats)
        }
        let llama: [UInt8]
        if let (given, bytes) = value.quantizedBytes {
            guard given == format else { throw PlanError.variableDType(name: name, expected: dtype, got: value.dtype) }
            llama = bytes
        } else {
            llama = Quantization.quantize(value.floats, format: format)
        }
        try buffer.upload(format == .f16 ? llama : QuantMatmulFamily.deviceLayout(llama, format: format))
    }

    /// A variable's value read back: quantized buffers as llama.cpp-layout `TensorData`.
    func downloadVariable(shape: Shape, dtype: DType) throws -> TensorData {
        switch self {
        case .bytes(let buffer):
            let format = dtype.quantFormat!
            let stored: [UInt8] = try buffer.download()
            let llama = format == .f16 ? stored : QuantMatmulFamily.llamaLayout(stored, format: format, elements: shape.count)
            return TensorData(shape: shape, format: format, bytes: llama)
        case .i32(let buffer): return TensorData(shape: shape, ints: try buffer.download(count: shape.count))
        case .f32(let buffer): return TensorData(shape: shape, floats: try buffer.download(count: shape.count))
        }
    }
}
