/// The walk behind ``Module/namedParameters()``: stored properties by reflection, in declaration order.
enum ModuleReflection {
    /// Calls `visit` with each parameter reachable from `value` and its dotted path below `path`.
    static func visit(_ value: Any, path: String, _ visit: (String, Parameter) -> Void) {
        if let parameter = value as? Parameter {
            visit(path, parameter)
            return
        }
        if let keyed = value as? KeyedProperty {
            if let wrapped = keyed.keyedValue { Self.visit(wrapped, path: join(path, keyed.key), visit) }
            return
        }
        let mirror = Mirror(reflecting: value)
        switch mirror.displayStyle {
        case .optional:
            if let wrapped = mirror.children.first?.value, mayHoldParameters(wrapped) { Self.visit(wrapped, path: path, visit) }
        case .collection:
            for (index, element) in mirror.children.enumerated() where mayHoldParameters(element.value) {
                Self.visit(element.value, path: join(path, String(index)), visit)
            }
        default:
            guard value is Module else { return }
            for (label, child) in storedProperties(mirror) where mayHoldParameters(child) {
                // A `Key` reports its own path component; any other property its label.
                Self.visit(child, path: child is KeyedProperty ? path : join(path, label), visit)
            }
        }
    }

    /// Whether `value` can lead to parameters: a parameter, a module, a ``Key``, or an optional
    /// or array (whose elements are checked in turn). Other values (sizes, configurations,
    /// tensors) are never walked.
    static func mayHoldParameters(_ value: Any) -> Bool {
        if value is Parameter || value is Module || value is KeyedProperty { return true }
        let style = Mirror(reflecting: value).displayStyle
        return style == .optional || style == .collection
    }

    /// A class's inherited stored properties first, then its own; a struct's in order.
    private static func storedProperties(_ mirror: Mirror) -> [(String, Any)] {
        let inherited = mirror.superclassMirror.map(storedProperties) ?? []
        return inherited + mirror.children.map { ($0.label ?? "", $0.value) }
    }

    private static func join(_ path: String, _ component: String) -> String {
        if component.isEmpty { return path }
        return path.isEmpty ? component : path + "." + component
    }
}
