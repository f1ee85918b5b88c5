import Hummingbird

/// A request the playground refuses; nothing was changed by it.
public enum PlaygroundError: Error, CustomStringConvertible, Sendable, Equatable {
    /// HTTP 400: malformed JSON, an unknown parameter, an index out of range, a non-finite value, a prompt outside the vocabulary.
    case badRequest(String)
    /// HTTP 404: the server holds no model of this kind.
    case noModel(String)

    public var description: String {
        switch self {
        case .badRequest(let message), .noModel(let message): message
        }
    }

    /// The HTTP error it is answered with: `{"error": {"message": …}}`.
    var httpError: HTTPError {
        switch self {
        case .badRequest(let message): HTTPError(.badRequest, message: message)
        case .noModel(let message): HTTPError(.notFound, message: message)
        }
    }
}

/// Checks a number from a request: finite (also once narrowed to Float), with its parameter's name in the message.
func finite(_ value: Double, _ parameter: String) throws -> Float {
    guard value.isFinite, Float(value).isFinite else {
        throw PlaygroundError.badRequest("'\(parameter)' must be a finite number, got \(value)")
    }
    return Float(value)
}
