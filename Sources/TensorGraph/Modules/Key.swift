/// Names a module's property in parameter paths when its Swift name is not the name checkpoints use.
///
/// ```swift
/// struct Attention: Module {
///     @Key("c_attn") var queryKeyValue: Linear      // parameters "….c_attn.weight", "….c_attn.bias"
///     init(_ channels: Int) { queryKeyValue = Linear(channels, 3 * channels) }
/// }
/// ```
///
/// A property declared without a value is set in the module's initialiser, before it is read;
/// as an assignment through the wrapper, it comes after every unwrapped stored property is set.
/// An empty key adds no path component: the wrapped value's parameters are named as if they
/// belonged to the enclosing module (``Sequential`` names its layers `0`, `1`, … this way, as
/// PyTorch's `nn.Sequential` does).
@propertyWrapper
public struct Key<Value> {
    private var value: Value?
    /// The path component that replaces the property's name.
    public let key: String

    /// A property named `key`, set later (in the module's initialiser).
    public init(_ key: String) {
        self.key = key
    }

    /// A property named `key` holding `wrappedValue`.
    public init(wrappedValue: Value, _ key: String) {
        self.value = wrappedValue
        self.key = key
    }

    /// The module, parameter or collection of them. Reading it before it is set is a programming error.
    public var wrappedValue: Value {
        get {
            guard let value else { preconditionFailure("the property keyed \"\(key)\" is read before it is set") }
            return value
        }
        set { value = newValue }
    }
}

extension Key: Sendable where Value: Sendable {}

/// A ``Key`` seen through reflection, whatever its value type.
protocol KeyedProperty {
    var key: String { get }
    /// The wrapped value; nil while unset.
    var keyedValue: Any? { get }
}

extension Key: KeyedProperty {
    var keyedValue: Any? { value.map { $0 as Any } }
}
