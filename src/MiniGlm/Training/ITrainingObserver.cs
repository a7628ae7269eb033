namespace MiniGlm.Training;

/// <param name="PeakFlops">The matmul peak in <paramref name="Dtype"/>'s arithmetic that MFU is measured against.</param>
public sealed record TrainingStarted(int StartIter, int MaxIters, long Parameters, long TokensPerIter, int Threads,
    double PeakFlops, string InitFrom, string? FromCheckpoint, TrainingDtype Dtype, double FlopsPerToken);
public sealed record StepReport(int Iter, int MaxIters, double Loss, double LearningRate, double TokensPerSec,
    double Mfu, double ElapsedSeconds);
public sealed record LossEstimate(int Iter, double TrainLoss, double ValLoss, bool Improved);

/// How the trainer tells a front end what it is doing; the CLI draws a bar, tests ignore it.
public interface ITrainingObserver
{
    void Started(TrainingStarted e) { }
    void Step(StepReport e) { }
    void Evaluated(LossEstimate e) { }
    void Checkpointed(string dir, int iter) { }
}
