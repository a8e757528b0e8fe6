using System.Reflection;
using FunctionalNets;
using Xunit;

namespace FunctionalNets.Tests;

/// <summary>The Core members C# calls for custom loops (Diff's members, Scope.Open and its handle) show no
/// FSharp.Core type, as the host's surface does not.</summary>
public class LoopSurfaceTests
{
    private static IEnumerable<string> Leaks(IEnumerable<MethodInfo> methods) =>
        methods.SelectMany(m => m.GetParameters().Select(p => p.ParameterType).Append(m.ReturnType)
            .Where(PublicApiTests.MentionsFSharp).Select(t => $"{m.DeclaringType!.Name}.{m.Name}: {t}"));

    [Fact]
    public void Diff_members_and_Scope_Open_take_and_return_dotnet_types_only()
    {
        var diff = typeof(Diff).GetMethods(BindingFlags.Public | BindingFlags.Static | BindingFlags.DeclaredOnly);
        Assert.Equal(
            new[] { "Grad", "Hessian", "Hvp", "Jacobian", "Jvp", "NumGrad", "ValueAndGrad", "Vjp" },
            diff.Select(m => m.Name).Distinct().Order());
        var scope = typeof(Scope.Handle).GetMethods(BindingFlags.Public | BindingFlags.Instance | BindingFlags.DeclaredOnly)
            .Append(typeof(Scope).GetMethod(nameof(Scope.Open))!);
        var leaks = Leaks(diff.Concat(scope)).ToList();
        Assert.True(leaks.Count == 0, "F# types:\n" + string.Join("\n", leaks));
    }
}
