/// The dimensions of a tensor, outermost first.
///
/// A rank-0 shape (`[]`) is a scalar with one element.
public struct Shape: Hashable, Sendable, Codable, CustomStringConvertible, ExpressibleByArrayLiteral {
    /// The size of each axis, outermost first.
    public var dims: [Int]

    /// Creates a shape from its dimensions.
    public init(_ dims: [Int]) { self.dims = dims }

    /// Creates a shape from an array literal, e.g. `[2, 3]`.
    public init(arrayLiteral elements: Int...) { self.dims = elements }

    /// The number of axes.
    public var rank: Int { dims.count }

    /// The number of elements: the product of the dimensions (1 for rank 0).
    public var count: Int { dims.reduce(1, *) }

    /// The size of `axis`; negative axes count from the end (`-1` is the last axis).
    public subscript(_ axis: Int) -> Int {
        dims[axis < 0 ? axis + dims.count : axis]
    }

    /// `"[2, 3]"`.
    public var description: String { "[" + dims.map(String.init).joined(separator: ", ") + "]" }

    /// Row-major (C order) strides in elements: the last axis has stride 1.
    public var strides: [Int] { contiguousStrides(self) }

    /// Normalises a possibly negative axis to `0..<rank`, or returns nil when out of range.
    public func normalizedAxis(_ axis: Int) -> Int? {
        let a = axis < 0 ? axis + rank : axis
        return (0..<rank).contains(a) ? a : nil
    }
}
