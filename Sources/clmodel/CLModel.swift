import ArgumentParser

@main
struct CLModel: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "clmodel",
        abstract: "Train, evaluate and sample CLGraph's models on any OpenCL device.",
        subcommands: [Eval.self, Sample.self, Next.self])
}
