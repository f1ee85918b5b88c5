import ArgumentParser
import DistributedTraining
import Foundation
import Models
import TensorGraph

extension TrainGPT {
    /// `train gpt --distributed`: this process is one rank of the `mpirun` job. Every rank builds
    /// the same split plan on its own device and trains on its shard of each step; rank 0 prints
    /// the log, evaluates and writes the checkpoints, the other ranks only take the steps.
    func trainDistributed(model: GPTConfiguration, settings: OptimizerSettings, rankBatch: Int, dropout: Float, data: GPTDataset,
                          path: String, dataset: GPTDataset.Kind, parameters: [String: TensorData],
                          optimizerState: [String: TensorData], startStep: Int) throws {
        let group = try distribution.start()
        let (backend, selector) = try DistributedOptions.backend(runOptions, localRank: group.localRank)
        print("rank \(group.rank) of \(group.size): pid \(getpid()), local rank \(group.localRank) of \(group.localSize), "
              + "device \(backend.name)\(selector.map { " (--device \($0))" } ?? "")")
        fflush(stdout)
        let options = CompileOptions(attention: attention)
        let trainer = try GPTDataParallelTrainer(model: model, settings: settings, rankBatch: rankBatch, data: data.train,
                                                 backend: backend, reducer: group, parameters: parameters,
                                                 optimizerState: optimizerState, step: startStep, dataSeed: training.seed &+ 1,
                                                 dropout: dropout, options: options)
        guard group.rank == 0 else {
            while trainer.step < settings.steps { try trainer.enqueueStep() }
            _ = try measureAllReduce(group, count: trainer.plan.bufferCount, rounds: Self.probeRounds)
            group.finalize()
            return
        }
        try runGPTTraining(trainer, model: model, data: data, path: path, totalSteps: settings.steps, backend: backend,
                           options: options, plotTitle: "GPT \(dataset.rawValue) — \(group.size) ranks, \(backend.name)", settingsLines: [
                               "distributed: \(group.size) ranks × batch \(rankBatch) = global batch \(trainer.globalBatch); "
                               + "all-reduce of \(trainer.plan.bufferCount) floats per step",
                               "training: \(dataset.rawValue), global batch \(trainer.globalBatch), \(optimizerDescription(settings)), "
                               + "dropout \(dropout)"])
        let alone = try measureAllReduce(group, count: trainer.plan.bufferCount, rounds: Self.probeRounds).sorted()
        printCommunication(trainer.timing, bytes: 4 * trainer.plan.bufferCount, ranks: group.size, alone: alone[alone.count / 2])
        group.finalize()
    }

    /// All-reduce rounds timed on their own after training.
    static let probeRounds = 21

    /// Rank 0's split of its step time and the all-reduce timed alone (median of the probe's rounds).
    func printCommunication(_ timing: DataParallelTiming, bytes: Int, ranks: Int, alone: Double) {
        guard timing.steps > 0 else { return }
        let perStep = { (seconds: Double) in seconds * 1e3 / Double(timing.steps) }
        print(String(format: "all-reduce: %d bytes over %d ranks; in training %.3f ms/step of %.3f ms/step (%.1f%%; forward+backward %.3f, "
                     + "update %.3f; waits for the slowest rank included); alone %.3f ms (median of %d after a barrier)",
                     bytes, ranks, perStep(timing.reduceSeconds), timing.secondsPerStep * 1e3, timing.reduceFraction * 100,
                     perStep(timing.gradientSeconds), perStep(timing.updateSeconds), alone * 1e3, Self.probeRounds))
    }
}
