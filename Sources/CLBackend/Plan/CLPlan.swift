import CLRuntime
import Foundation
import TensorGraph

/// A graph compiled for one OpenCL device: buffers assigned, kernels built and bound.
/// `run` uploads the inputs, enqueues every launch, enqueues the output reads and waits
/// once; no host round trip per op.
///
/// ## Threads
/// A `CLPlan` may be used from several threads at once. Its buffers (inputs, intermediates,
/// outputs, variables) and kernels belong to the plan, so runs of one plan take turns: ``run(_:)``,
/// ``enqueue(_:)``, ``synchronize()``, ``setVariable(_:_:)`` and ``variable(_:)`` hold the plan's
/// lock for their whole duration (a run from enqueueing its uploads to reading its outputs), and
/// concurrent calls behave as if made one after another; ``start(_:chaining:)`` holds it while it
/// enqueues, and a started run's ``PlanRun/outputs()`` waits without it, then takes it to check
/// what the run raised. Distinct plans run concurrently, also on
/// one ``CLContext``: each binds its own kernel objects and buffers, and the context's in-order
/// queue and program table are safe to use from several threads (a run's final wait then also
/// waits for the other plans' work queued before it). Compile plans before running them in
/// parallel; to overlap work, give each thread its own plan.
public final class CLPlan: Plan, @unchecked Sendable {
    public let context: CLContext
    /// Every launch of one run, in order.
    public let steps: [LaunchStep]
    /// Device bytes of intermediate values after buffer sharing.
    public let intermediateBytes: Int
    /// Device bytes intermediates would need without sharing (one buffer each).
    public let unsharedIntermediateBytes: Int
    /// All device bytes the plan holds: inputs, variables, constants, intermediates, outputs.
    public let totalDeviceBytes: Int
    public var peakMemoryBytes: Int { totalDeviceBytes }

    private let lowering: PlanLowering
    private let buffers: BufferTable
    private let outputValues: [ValueID]
    private let outputShapes: [Shape]
    /// End-of-run copies `value → variable` (value ids), one per assignment not computed in place.
    private let assignmentCopies: [(source: ValueID, target: ValueID, count: Int)]
    private let inputs: [(name: String, value: ValueID, shape: Shape, dtype: DType)]
    /// The inputs' and outputs' shapes and dtypes, and the inputs' values by name, for
    /// ``start(_:chaining:)``.
    private let inputSignatures: [String: (shape: Shape, dtype: DType)]
    private let outputSignatures: [(shape: Shape, dtype: DType)]
    private let inputValues: [String: ValueID]
    private let variables: [String: (value: ValueID, shape: Shape)]
    private var variablesSet: Set<String> = []
    private let guards: [GuardRegion]
    /// Every input of the graph, used by the outputs or not (feeding an unused one is fine).
    private let inputNames: Set<String>
    private let trace: Bool
    /// Elements read from each pool of error flags (up to and including its last used slot).
    private let flagReadCounts: [Int]
    /// Buffer copies at the end of each run for assignments that could not be computed in place.
    public var endOfRunCopies: Int { assignmentCopies.count }
    public var commandsPerRun: Int? { steps.count + assignmentCopies.count }
    /// Runs enqueued by ``enqueue(_:)`` and not yet synchronised.
    private var pendingRuns = 0
    /// Runs begun by ``start(_:chaining:)`` whose outputs are not collected yet.
    private var startedRuns = 0
    /// Whether any run was enqueued (a chained input needs a run before it).
    private var anyRunEnqueued = false
    /// Runs completed (for tests and traces).
    public private(set) var runCount = 0
    /// The kernel timings of the last traced run (nil until a run with ``CompileOptions/trace``).
    public private(set) var lastTrace: PlanTrace?
    /// Serialises every use of the plan's buffers and state (see "Threads" above); recursive
    /// because ``run(_:)`` synchronises pending enqueued runs first.
    private let lock = NSRecursiveLock()

    /// Guard regions around an output: a parent buffer whose view the kernels write; the
    /// elements before and after the view hold a sentinel that must survive every run.
    struct GuardRegion {
        let output: ValueID
        let parent: CLBuffer<Float>
        let before: Int
        let after: Int
        static let sentinel: Float = -7.7777e33
    }

    init(graph: Graph, outputs: [Tensor], assignments: [Assignment], options: CompileOptions, context: CLContext) throws {
        self.context = context
        for (i, t) in outputs.enumerated() where t.graph !== graph { throw PlanError.foreignOutput(index: i) }
        try Assignment.validate(assignments, in: graph)
        let environment = FamilyEnvironment(context: context, options: options.openCL)
        let lowering = PlanLowering(graph: graph, options: options, environment: environment)
        // Assigned values stay alive to the end of the run, like outputs; variables are never shared.
        try lowering.lower(outputs: outputs, keepAlive: assignments.map(\.value) + assignments.map(\.variable))
        self.lowering = lowering
        self.flagReadCounts = lowering.errorFlagPools.indices.map { pool in
            (lowering.errorFlags.filter { $0.pool == pool }.map(\.slot).max() ?? 0) + 1
        }
        self.trace = options.trace || ProcessInfo.processInfo.environment["CLGRAPH_TRACE"].map { $0 != "0" && !$0.isEmpty } ?? false

        let outputValues = outputs.map { lowering.valueOfNode[$0.id]! }
        let pairs = assignments.compactMap { assignment -> (source: ValueID, target: ValueID, count: Int)? in
            let source = lowering.valueOfNode[assignment.value.id]!, target = lowering.valueOfNode[assignment.variable.id]!
            return source == target ? nil : (source, target, assignment.variable.shape.count)
        }
        let inPlace = options.guardElements > 0 ? [:]
            : InPlaceAssignments.targets(copies: pairs.map { ($0.source, $0.target) }, ops: lowering.ops, readBack: Set(outputValues))

        let assignment = MemoryPlanner.plan(ops: lowering.ops, values: lowering.values)
        var slotBuffers: [DeviceBuffer] = []
        for slot in assignment.slots {
            slotBuffers.append(try DeviceBuffer.allocate(slot.isInt ? .i32 : .f32, count: slot.count, context: context))
        }
        var buffers = BufferTable()
        var guards: [GuardRegion] = []
        var total = slotBuffers.reduce(0) { $0 + $1.byteCount }
        var unshared = 0
        let alignment = max(context.device.info.baseAddressAlignmentBytes / 4, 1)
        for value in lowering.values where inPlace[value.id] == nil {
            if value.role == .intermediate { unshared += value.count * 4 }
            if let slot = assignment.slotOfValue[value.id] {
                buffers[value.id] = slotBuffers[slot]
                continue
            }
            if value.isOutput, value.role == .intermediate, value.dtype == .f32, options.guardElements > 0 {
                let before = (options.guardElements + alignment - 1) / alignment * alignment
                let parent = try CLBuffer<Float>(context: context, count: before + value.count + options.guardElements)
                try parent.fill(GuardRegion.sentinel)
                buffers[value.id] = .f32(try parent.view(offset: before, count: value.count))
                guards.append(GuardRegion(output: value.id, parent: parent, before: before, after: options.guardElements))
                total += parent.byteCount
                continue
            }
            let buffer = try DeviceBuffer.allocate(value.dtype, count: value.count, context: context)
            if case .constant(let data) = value.role { try buffer.floats.upload(data) }
            buffers[value.id] = buffer
            total += buffer.byteCount
        }
        for (value, variable) in inPlace { buffers[value] = buffers[variable] }
        self.guards = guards
        self.intermediateBytes = slotBuffers.reduce(0) { $0 + $1.byteCount }
        self.unsharedIntermediateBytes = unshared
        self.totalDeviceBytes = total

        var steps: [LaunchStep] = []
        for op in lowering.ops { steps += try op.encode(buffers) }
        for pool in lowering.errorFlagPools { try pool.fill(0) }
        self.steps = steps

        self.outputValues = outputValues
        // A value that is itself the target of another assignment (a swap, `a ← b, b ← a`) is first
        // staged in a buffer of its own, so every copy reads the value from before the run.
        let targets = Set(pairs.map(\.target))
        var staging: [(source: ValueID, target: ValueID, count: Int)] = []
        var copies: [(source: ValueID, target: ValueID, count: Int)] = []
        for pair in pairs where inPlace[pair.source] == nil {
            if case .bytes = try buffers.buffer(pair.target), case .variable(let name) = lowering.values[pair.target].role {
                throw PlanError.unsupported(op: "assign", detail: "variable \"\(name)\" is quantized: a plan copies only f32 and i32 values into variables")
            }
            guard targets.contains(pair.source) else { copies.append(pair); continue }
            let id = ValueID(index: -1 - staging.count)  // staging buffers live outside the planned values
            let dtype: DType
            if case .i32 = try buffers.buffer(pair.source) { dtype = .i32 } else { dtype = .f32 }
            buffers[id] = try DeviceBuffer.allocate(dtype, count: pair.count, context: context)
            staging.append((pair.source, id, pair.count))
            copies.append((id, pair.target, pair.count))
        }
        self.assignmentCopies = staging + copies
        self.buffers = buffers
        self.outputShapes = outputs.map(\.shape)
        var inputs: [(String, ValueID, Shape, DType)] = []
        var variables: [String: (ValueID, Shape)] = [:]
        for node in graph.nodes {
            guard let value = lowering.valueOfNode[node.id] else { continue }
            switch node.op {
            case .input(let name): inputs.append((name, value, node.shape, node.dtype))
            case .variable(let name): variables[name] = (value, node.shape)
            default: break
            }
        }
        self.inputs = inputs
        self.inputSignatures = inputs.reduce(into: [:]) { $0[$1.0] = ($1.2, $1.3) }
        self.inputValues = inputs.reduce(into: [:]) { $0[$1.0] = $1.1 }
        self.outputSignatures = zip(outputs, outputValues).map { ($0.shape, lowering.values[$1].dtype) }
        self.variables = variables
        self.inputNames = Set(graph.inputs.compactMap(\.op.inputName))
    }

    // MARK: Variables

    public func setVariable(_ name: String, _ value: TensorData) throws {
        lock.lock()
        defer { lock.unlock() }
        guard let variable = variables[name] else { throw PlanError.unknownVariable(name: name) }
        guard value.shape == variable.shape else {
            throw PlanError.inputShape(name: name, expected: variable.shape, got: value.shape)
        }
        try buffers.buffer(variable.value).uploadVariable(value, name: name, dtype: lowering.values[variable.value].dtype)
        variablesSet.insert(name)
    }

    public func variable(_ name: String) throws -> TensorData {
        lock.lock()
        defer { lock.unlock() }
        guard let variable = variables[name] else { throw PlanError.unknownVariable(name: name) }
        return try buffers.buffer(variable.value).downloadVariable(shape: variable.shape, dtype: lowering.values[variable.value].dtype)
    }

    // MARK: Running

    public func run(_ feeds: [String: TensorData]) throws -> [TensorData] {
        lock.lock()
        defer { lock.unlock() }
        if pendingRuns > 0 { try synchronize() }  // errors of enqueued runs surface first
        let started = DispatchTime.now().uptimeNanoseconds
        let events = try enqueueWork(feeds, copies: false)
        let reads = try enqueueOutputReads()
        try enqueueAssignmentCopies()
        let flagReads = try readErrorFlags()
        try context.finish()  // the one synchronisation of the run
        let wall = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e6
        runCount += 1
        try checkErrorFlags(flagReads, runs: 1)
        try checkGuards()
        if trace { try printTrace(events: events, wallMilliseconds: wall) }
        return outputs(of: reads)
    }

    /// Enqueues the run's uploads, the copies of its chained inputs from the last run's outputs,
    /// its launches, output reads and state updates, and returns without waiting; the outputs are
    /// read when the returned run is asked for them.
    public func start(_ feeds: [String: TensorData], chaining: [String: Int]) throws -> any PlanRun {
        lock.lock()
        defer { lock.unlock() }
        try RunChaining.validate(chaining, inputs: inputSignatures, outputs: outputSignatures, feeds: feeds, hasPreviousRun: anyRunEnqueued)
        var chained: [ValueID: ValueID] = [:]
        for (name, index) in chaining { chained[inputValues[name]!] = outputValues[index] }
        let started = DispatchTime.now().uptimeNanoseconds
        let events = try enqueueWork(feeds, copies: false, chained: chained)
        let reads = try enqueueOutputReads()
        try enqueueAssignmentCopies()
        let flagReads = try readErrorFlags()
        let done = try context.enqueueMarker(label: "plan run")
        try context.flush()
        startedRuns += 1
        return CLPlanRun(plan: self, reads: reads, flagReads: flagReads, done: done, events: events, started: started)
    }

    /// The outputs of a run begun by ``start(_:chaining:)``: waits for its marker, then checks what
    /// it raised. The last started run collected drains the queue (freeing the uploads' staging).
    fileprivate func collect(_ run: CLPlanRun) throws -> [TensorData] {
        lock.lock()
        startedRuns -= 1
        lock.unlock()
        try run.done.wait()
        lock.lock()
        defer { lock.unlock() }
        runCount += 1
        if startedRuns == 0 && pendingRuns == 0 { try context.finish() }
        try checkErrorFlags(run.flagReads, runs: 1)
        try checkGuards()
        if trace {
            try printTrace(events: run.events, wallMilliseconds: Double(DispatchTime.now().uptimeNanoseconds - run.started) / 1e6)
        }
        return outputs(of: run.reads)
    }

    /// Enqueues a read of every output. Output reads go before the end-of-run copies (the in-order
    /// queue keeps that order): an output that is a variable (or a reshape of one) shows its value
    /// from before the run.
    private func enqueueOutputReads() throws -> [Any] {
        try outputValues.enumerated().map { index, value -> Any in
            switch try buffers.buffer(value) {
            case .f32(let buffer): return try buffer.enqueueDownload(count: outputShapes[index].count)
            case .i32(let buffer): return try buffer.enqueueDownload(count: outputShapes[index].count)
            case .bytes: throw PlanError.unsupported(op: "output \(index)", detail: "a quantized variable is not an output; read it with variable(_:)")
            }
        }
    }

    /// The values of completed output reads.
    private func outputs(of reads: [Any]) -> [TensorData] {
        zip(reads, outputShapes).map { read, shape in
            if let floats = read as? PendingRead<Float> { return TensorData(shape: shape, floats: floats.values(count: shape.count)) }
            return TensorData(shape: shape, ints: (read as! PendingRead<Int32>).values(count: shape.count))
        }
    }

    /// Enqueues a run (inputs, kernels, state updates) without waiting for it or reading outputs:
    /// training steps whose loss nobody asked for run back to back, the host preparing the next
    /// while the device works. Errors such runs raise surface at the next ``synchronize()`` or ``run(_:)``.
    public func enqueue(_ feeds: [String: TensorData]) throws {
        lock.lock()
        defer { lock.unlock() }
        guard trace else {
            _ = try enqueueWork(feeds)
            pendingRuns += 1
            return
        }
        // Tracing needs each run's events complete: a traced run waits.
        let started = DispatchTime.now().uptimeNanoseconds
        let events = try enqueueWork(feeds)
        try synchronize()
        try printTrace(events: events, wallMilliseconds: Double(DispatchTime.now().uptimeNanoseconds - started) / 1e6)
    }

    /// Waits for every enqueued run and reports what they raised (bad indices, guard violations).
    public func synchronize() throws {
        lock.lock()
        defer { lock.unlock() }
        let flagReads = try readErrorFlags()
        try context.finish()
        let runs = pendingRuns
        runCount += runs
        pendingRuns = 0
        try checkErrorFlags(flagReads, runs: runs)
        try checkGuards()
    }

    /// Validates the feeds, enqueues their uploads (for `chained` inputs, device copies from the
    /// last run's outputs: input value → output value), every launch and (when `copies`) the
    /// end-of-run copies.
    private func enqueueWork(_ feeds: [String: TensorData], copies: Bool = true,
                             chained: [ValueID: ValueID] = [:]) throws -> [CLEvent?] {
        for name in variables.keys where !variablesSet.contains(name) { throw PlanError.variableNotSet(name: name) }
        for name in feeds.keys where !inputNames.contains(name) { throw PlanError.unknownInput(name: name) }
        for input in inputs where chained[input.value] == nil {
            guard let feed = feeds[input.name] else { throw PlanError.missingInput(name: input.name) }
            guard feed.shape == input.shape else {
                throw PlanError.inputShape(name: input.name, expected: input.shape, got: feed.shape)
            }
            guard feed.dtype == input.dtype else {
                throw PlanError.inputDType(name: input.name, expected: input.dtype, got: feed.dtype)
            }
        }
        for (input, output) in chained {
            switch (try buffers.buffer(output), try buffers.buffer(input)) {
            case (.f32(let source), .f32(let target)) where source !== target: try target.copy(from: source, count: target.count)
            case (.i32(let source), .i32(let target)) where source !== target: try target.copy(from: source, count: target.count)
            default: break  // one buffer: the value is already in place
            }
        }
        anyRunEnqueued = true
        for input in inputs where chained[input.value] == nil {
            let feed = feeds[input.name]!
            switch try buffers.buffer(input.value) {
            case .f32(let buffer): try buffer.enqueueUpload(feed.floats)
            case .i32(let buffer): try buffer.enqueueUpload(feed.ints)
            case .bytes: preconditionFailure("inputs are never quantized")
            }
        }
        var events: [CLEvent?] = []
        for step in steps { events.append(try step.enqueue(on: context, event: trace)) }
        if copies { try enqueueAssignmentCopies() }
        return events
    }

    /// Enqueues the end-of-run copies `value → variable` of the assignments not computed in place.
    private func enqueueAssignmentCopies() throws {
        for copy in assignmentCopies {
            switch (try buffers.buffer(copy.source), try buffers.buffer(copy.target)) {
            case (.f32(let source), .f32(let target)): try target.copy(from: source, count: copy.count)
            case (.i32(let source), .i32(let target)): try target.copy(from: source, count: copy.count)
            default: preconditionFailure("assignment between buffers of different dtypes (quantized copies are refused at compile)")
            }
        }
    }

    /// Error flags stay zero until a kernel raises one; a raised flag is reset and reported. After
    /// several enqueued runs the offending index is no longer in the buffer, so only the op and the
    /// bound are reported.
    private func checkErrorFlags(_ reads: [PendingRead<Int32>], runs: Int) throws {
        let pools = zip(reads, flagReadCounts).map { $0.values(count: $1) }
        for flag in lowering.errorFlags {
            let position = pools[flag.pool][flag.slot]
            guard position != 0 else { continue }
            try flag.flag.fill(0)
            guard runs == 1 else { throw PlanError.indexOutOfRangeInEnqueuedRuns(op: flag.op, bound: flag.bound, runs: runs) }
            let index = try buffers.ints(flag.indices).download(offset: Int(position) - 1, count: 1)[0]
            throw PlanError.indexOutOfRange(op: flag.op, index: index, bound: flag.bound)
        }
    }

    /// Enqueues one read per pool of error flags, up to its last slot.
    private func readErrorFlags() throws -> [PendingRead<Int32>] {
        try zip(lowering.errorFlagPools, flagReadCounts).map { try $0.enqueueDownload(count: $1) }
    }


    private func checkGuards() throws {
        for region in guards {
            let all = try region.parent.download()
            let total = all.count
            let bad = (0..<region.before).filter { all[$0] != GuardRegion.sentinel }
                + ((total - region.after)..<total).filter { all[$0] != GuardRegion.sentinel }
            if let first = bad.first {
                let position = outputValues.firstIndex(of: region.output) ?? -1
                throw PlanError.guardViolation(
                    output: position,
                    detail: "\(bad.count) guard elements overwritten, first at offset \(first - region.before) from the output start")
            }
        }
    }

    private func printTrace(events: [CLEvent?], wallMilliseconds: Double) throws {
        var lines = ["plan run \(runCount): \(steps.count) launches, \(assignmentCopies.count) end-of-run copies, 1 synchronisation, \(String(format: "%.3f", wallMilliseconds)) ms wall"]
        var kernelTotal = 0.0
        var launches: [PlanTrace.Launch] = []
        for (step, event) in zip(steps, events) {
            guard let event else { continue }
            let ms = try event.profilingTimes().durationMilliseconds
            kernelTotal += ms
            let seconds = max(ms / 1e3, 1e-12)
            launches.append(PlanTrace.Launch(variant: step.variant, label: step.label, global: step.global, local: step.local,
                                             milliseconds: ms, gflops: step.flops / seconds / 1e9,
                                             gigabytesPerSecond: step.bytes / seconds / 1e9))
            lines.append(String(format: "  %8.3f ms %8.2f GFLOP/s %8.2f GB/s  %@  global %@ local %@  %@", ms,
                                step.flops / seconds / 1e9, step.bytes / seconds / 1e9, step.variant,
                                "\(step.global)", step.local.map { "\($0)" } ?? "auto", step.label))
        }
        lines.append(String(format: "  kernel total %.3f ms", kernelTotal))
        lastTrace = PlanTrace(wallMilliseconds: wallMilliseconds, launches: launches)
        FileHandle.standardError.write(Data((lines.joined(separator: "\n") + "\n").utf8))
    }
}

/// A run of a ``CLPlan`` begun by ``CLPlan/start(_:chaining:)``.
final class CLPlanRun: PlanRun, @unchecked Sendable {
    private let plan: CLPlan
    let reads: [Any]
    let flagReads: [PendingRead<Int32>]
    /// Completes when the run and everything before it on the queue have.
    let done: CLEvent
    let events: [CLEvent?]
    let started: UInt64
    /// The outputs, or what the run raised, once collected (a second call returns the same).
    private var collected: Result<[TensorData], any Error>?

    init(plan: CLPlan, reads: [Any], flagReads: [PendingRead<Int32>], done: CLEvent, events: [CLEvent?], started: UInt64) {
        self.plan = plan
        self.reads = reads
        self.flagReads = flagReads
        self.done = done
        self.events = events
        self.started = started
    }

    func outputs() throws -> [TensorData] {
        if let collected { return try collected.get() }
        let result = Result { try plan.collect(self) }
        collected = result
        return try result.get()
    }
}
