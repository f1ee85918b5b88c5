/// The page, script and styles of the playground (`Web/`), embedded at build time by the
/// EmbedWebAssets plugin as `embedded[fileName]`.
enum PlaygroundAssets {
    /// The text of an embedded file and its `Content-Type`, or nil for a name not embedded.
    static func asset(named name: String) -> (text: String, contentType: String)? {
        guard let text = embedded[name] else { return nil }
        let type: String
        switch name.split(separator: ".").last {
        case "html": type = "text/html; charset=utf-8"
        case "js": type = "text/javascript; charset=utf-8"
        case "css": type = "text/css; charset=utf-8"
        default: type = "text/plain; charset=utf-8"
        }
        return (text, type)
    }
}
