import ArgumentParser

/// `clmodel train <model>`: one subcommand per model, each with its own hyperparameters.
struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train a model on the device, with periodic validation, checkpoints and a loss plot.",
        subcommands: [TrainMLP.self, TrainGPT.self, TrainBabyLLM.self])
}
