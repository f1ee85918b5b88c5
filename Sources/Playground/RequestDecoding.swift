import Foundation
import Hummingbird

/// A JSON request body of the playground's API: an object whose keys must all be among
/// ``fields`` (an unknown one is refused, so a misspelt parameter never goes unnoticed).
protocol PlaygroundRequest: Decodable, Sendable {
    /// The keys the object may have.
    static var fields: Set<String> { get }
}

/// The largest request body accepted.
let maximumRequestBytes = 1 << 20

extension PlaygroundRequest {
    /// Decodes a body, refusing malformed JSON, a non-object, unknown keys and wrong types with a 400 that says which.
    static func decode(_ data: Data) throws -> Self {
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: data.isEmpty ? Data("{}".utf8) : data)
        } catch {
            throw PlaygroundError.badRequest("malformed JSON: the body is not a JSON object")
        }
        guard let dictionary = object as? [String: Any] else {
            throw PlaygroundError.badRequest("malformed JSON: the body must be a JSON object")
        }
        if let unknown = dictionary.keys.sorted().first(where: { !fields.contains($0) }) {
            throw PlaygroundError.badRequest("unknown parameter '\(unknown)'; this endpoint takes: \(fields.sorted().joined(separator: ", "))")
        }
        do {
            return try JSONDecoder().decode(Self.self, from: data.isEmpty ? Data("{}".utf8) : data)
        } catch let DecodingError.typeMismatch(type, context), let DecodingError.valueNotFound(type, context) {
            throw PlaygroundError.badRequest("parameter '\(context.codingPath.map(\.stringValue).joined(separator: "."))' must be \(type)")
        } catch let DecodingError.keyNotFound(key, _) {
            throw PlaygroundError.badRequest("missing parameter '\(key.stringValue)'")
        } catch let DecodingError.dataCorrupted(context) {
            throw PlaygroundError.badRequest("parameter '\(context.codingPath.map(\.stringValue).joined(separator: "."))': \(context.debugDescription)")
        } catch {
            throw PlaygroundError.badRequest("unreadable request: \(error)")
        }
    }

    /// Reads and decodes the body of `request`.
    static func decode(_ request: Request) async throws -> Self {
        var request = request
        let buffer: ByteBuffer
        do {
            buffer = try await request.collectBody(upTo: maximumRequestBytes)
        } catch {
            throw PlaygroundError.badRequest("the body is larger than \(maximumRequestBytes) bytes")
        }
        return try decode(Data(buffer.readableBytesView))
    }
}
