/// The variants of the generated elementwise kernels (``ElementwiseCodegen``), one per fused group
/// or horizontally fused set of groups.
public enum ElementwiseVariant: Int, KernelVariant {
    case perElement = 1
    case chunks = 2

    public static let family = "elementwise"
    public var summary: String {
        switch self {
        case .perElement: return "gpu: generated fused kernel, one element per work-item"
        case .chunks: return "cpu: generated fused kernel, float16 chunks per work-item with a scalar tail"
        }
    }
}
