using FunctionalNets.Nn;
using Microsoft.FSharp.Core;
using Spectre.Console;

namespace FunctionalNets;

/// <summary>Fit's progress on a terminal: a live bar per epoch with the running loss and metrics, the epoch's
/// closing line kept on screen. Chosen by <see cref="Net.Fit"/> when verbose output goes to an interactive
/// terminal; redirected output gets the library's plain line per epoch.</summary>
internal sealed class ConsoleProgress : IFitProgress
{
    internal static IFitProgress? ForConsole() =>
        !Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive ? new ConsoleProgress() : null;

    public bool Live => true;

    public T RunEpoch<T>(int epoch, int epochs, int batches, FSharpFunc<FSharpFunc<int, FSharpFunc<string, Unit>>, T> body)
    {
        T result = default!;
        AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask($"epoch {epoch}/{epochs}", true, batches);
                Action<int, string> report = (done, text) =>
                {
                    task.Value = done;
                    task.Description = $"epoch {epoch}/{epochs} {Markup.Escape(text)}";
                };
                var curried = FuncConvert.FromFunc<int, FSharpFunc<string, Unit>>(done =>
                    FuncConvert.FromAction<string>(text => report(done, text)));
                result = body.Invoke(curried);
            });
        return result;
    }

    public void EpochEnded(string line) => AnsiConsole.WriteLine(line);
}
