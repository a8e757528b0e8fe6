using FunctionalNets;
using Xunit;

namespace FunctionalNets.Tests;

public class TunerTests
{
    private static HyperparameterSpace Space() => new HyperparameterSpace()
        .LogUniform("lr", 1e-4, 1e-1)
        .Choice("width", 64, 128, 256)
        .Uniform("dropout", 0.0, 0.5);

    /// <summary>A stand-in for training with a closed-form objective: lowest at lr = 1e-3, width = 128,
    /// dropout = 0.2, and falling as 1 / epochs.</summary>
    private static Func<int, double> Bowl(Trial trial)
    {
        int trained = 0;
        return epochs =>
        {
            trained += epochs;
            double lr = Math.Log10(trial.Float("lr")) + 3, width = (trial.Int("width") - 128) / 64.0, dropout = (trial.Float("dropout") - 0.2) * 4;
            return lr * lr + width * width + dropout * dropout + 1.0 / trained;
        };
    }

    private static double ClosedForm(TrialOutcome t)
    {
        double lr = Math.Log10((double)t.Parameters["lr"]) + 3, width = ((int)t.Parameters["width"] - 128) / 64.0, dropout = ((double)t.Parameters["dropout"] - 0.2) * 4;
        return lr * lr + width * width + dropout * dropout;
    }

    [Fact]
    public void Random_search_repeats_with_its_seed_and_picks_the_lowest_objective()
    {
        var a = Tuner.RandomSearch(Space(), Bowl, trials: 10, epochs: 1, seed: 7, report: _ => { });
        var b = Tuner.RandomSearch(Space(), Bowl, trials: 10, epochs: 1, seed: 7, report: _ => { });
        Assert.Equal(a.Best.Index, b.Best.Index);
        Assert.Equal(a.Trials.Select(t => t.Description), b.Trials.Select(t => t.Description));
        Assert.Equal(a.Trials.MinBy(ClosedForm)!.Index, a.Best.Index);
    }

    [Fact]
    public void Successive_halving_costs_fewer_epochs_than_training_every_trial_fully()
    {
        var halving = Tuner.SuccessiveHalving(Space(), Bowl, trials: 9, minEpochs: 1, maxEpochs: 9, eta: 3, seed: 1, report: _ => { });
        // 9 x 1 + 3 x 2 + 1 x 6 epochs.
        Assert.Equal(21, halving.TotalEpochs);
        var full = Tuner.RandomSearch(Space(), Bowl, trials: 9, epochs: 9, seed: 1, report: _ => { });
        Assert.Equal(81, full.TotalEpochs);
        Assert.Equal(full.Trials.MinBy(ClosedForm)!.Index, halving.Best.Index);
    }

    [Fact]
    public void A_failing_trial_is_reported_with_its_parameters_and_the_search_goes_on()
    {
        var lines = new List<string>();
        var result = Tuner.GridSearch(Space(), trial =>
        {
            if (trial.Int("width") == 64) throw new InvalidOperationException("diverged at width 64");
            return Bowl(trial);
        }, epochs: 1, pointsPerRange: 2, report: lines.Add);
        Assert.Equal(12, result.Trials.Count);
        Assert.Equal(4, result.Trials.Count(t => t.Error == "diverged at width 64"));
        Assert.NotEqual(64, (int)result.Best.Parameters["width"]);
        Assert.Contains(lines, l => l.Contains("failed") && l.Contains("width=64") && l.Contains("diverged"));
    }

    [Fact]
    public void Bad_spaces_are_refused_naming_the_hyperparameter()
    {
        var e1 = Assert.Throws<ArgumentException>(() => Tuner.RandomSearch(new HyperparameterSpace(), Bowl, trials: 1, epochs: 1));
        Assert.Contains("empty", e1.Message);
        var e2 = Assert.Throws<ArgumentException>(() => Tuner.RandomSearch(new HyperparameterSpace().LogUniform("lr", 0, 1), Bowl, trials: 1, epochs: 1));
        Assert.Contains("'lr'", e2.Message);
        Assert.Contains("above 0", e2.Message);
        var e3 = Assert.Throws<ArgumentException>(() => Tuner.RandomSearch(new HyperparameterSpace().Uniform("p", 1, 0), Bowl, trials: 1, epochs: 1));
        Assert.Contains("low <= high", e3.Message);
    }

    [Fact]
    public void The_results_are_written_as_csv_and_as_a_plot()
    {
        var dir = Directory.CreateTempSubdirectory("fn-cs-tuner-").FullName;
        try
        {
            var result = Tuner.RandomSearch(Space(), Bowl, trials: 5, epochs: 1, report: _ => { });
            result.SaveCsv(Path.Combine(dir, "trials.csv"));
            result.SavePlot(Path.Combine(dir, "objective.png"));
            Assert.Equal(6, File.ReadAllLines(Path.Combine(dir, "trials.csv")).Length);
            using var bitmap = SkiaSharp.SKBitmap.Decode(Path.Combine(dir, "objective.png"));
            // Three hyperparameters: three panels of 360 x 300 in a row.
            Assert.Equal(1080, bitmap.Width);
            Assert.Equal(300, bitmap.Height);
            Assert.Contains("rank", result.ToTable());
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }
}
