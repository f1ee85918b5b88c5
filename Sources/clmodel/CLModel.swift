import ArgumentParser

@main
struct CLModel: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "clmodel",
        abstract: "Train, evaluate and sample CLGraph's models on any OpenCL device.",
        subcommands: [Train.self, Eval.self, Sample.self, Next.self, Inspect.self, Bench.self, Quantize.self, Serve.self])
}
