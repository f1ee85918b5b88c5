/// `POST /api/mlp/view` (and the `context` of every edit): the text before the next character.
struct MLPViewRequest: PlaygroundRequest {
    static let fields: Set<String> = ["context"]
    var context: String?
}

/// `POST /api/mlp/set`: `name[index] = value` on a parameter, e.g. `output.weight[5, 12] = 1.5`.
struct MLPSetRequest: PlaygroundRequest {
    static let fields: Set<String> = ["context", "name", "index", "value"]
    var context: String?
    var name: String
    var index: [Int]
    var value: Double
}

/// `POST /api/mlp/connect`: the `--connect` rule of `clmodel next`, from the context character
/// at `position` (default: the last) to the output character `to`.
struct MLPConnectRequest: PlaygroundRequest {
    static let fields: Set<String> = ["context", "position", "to", "strength"]
    var context: String?
    var position: Int?
    var to: String
    var strength: Double?
}

/// `POST /api/mlp/sample`: `count` names sampled with the current weights.
struct MLPSampleRequest: PlaygroundRequest {
    static let fields: Set<String> = ["count", "seed", "temperature"]
    var count: Int?
    var seed: UInt64?
    var temperature: Double?
}

/// `POST /api/mlp/save`: a new checkpoint file (a plain name ending in `.safetensors`) beside the loaded one.
struct MLPSaveRequest: PlaygroundRequest {
    static let fields: Set<String> = ["file"]
    var file: String
}
