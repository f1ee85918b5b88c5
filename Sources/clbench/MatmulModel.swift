import ArgumentParser
import CLBackend

/// Models whose exact matmul products `clbench tune matmul --model` tunes and `clbench matmul
/// --model` measures.
enum MatmulModel: String, ExpressibleByArgument, CaseIterable {
    case mlp

    /// The products of one training step (forward, dx and dW) of the names MLP: batch 128,
    /// 3×48 inputs, hidden 512, 27 classes, weights stored [out, in] (x·Wᵀ).
    var shapes: [MatmulShape] {
        switch self {
        case .mlp:
            return [
                MatmulShape(m: 128, n: 512, k: 144, transposeB: true),   // h = x·W1ᵀ
                MatmulShape(m: 128, n: 27, k: 512, transposeB: true),    // logits = h·W2ᵀ
                MatmulShape(m: 128, n: 512, k: 27),                      // dh = dlogits·W2
                MatmulShape(m: 27, n: 512, k: 128, transposeA: true),    // dW2 = dlogitsᵀ·h
                MatmulShape(m: 128, n: 144, k: 512),                     // dx = dh·W1
                MatmulShape(m: 512, n: 144, k: 128, transposeA: true),   // dW1 = dhᵀ·x
            ]
        }
    }
}
