using System.Reflection;
using FunctionalNets;
using Xunit;

namespace FunctionalNets.Tests;

/// <summary>The host's public surface must be plain C#: no type from FSharp.Core anywhere in it.</summary>
public class PublicApiTests
{
    private static readonly Assembly FSharpCore = typeof(Microsoft.FSharp.Core.FSharpFunc<int, int>).Assembly;

    /// <summary>True when the type or anything it is built from (generic arguments, element types) lives in FSharp.Core.</summary>
    internal static bool MentionsFSharp(Type t)
    {
        if (t.HasElementType) return MentionsFSharp(t.GetElementType()!);
        if (t.IsGenericParameter) return t.GetGenericParameterConstraints().Any(MentionsFSharp);
        if (t.Assembly == FSharpCore) return true;
        return t.IsGenericType && t.GetGenericArguments().Any(MentionsFSharp);
    }

    /// <summary>Every place in the public surface of the assembly where an F# type appears.</summary>
    internal static List<string> FSharpLeaks(Assembly assembly)
    {
        var leaks = new List<string>();
        const BindingFlags all = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;

        void Check(Type t, string where)
        {
            if (MentionsFSharp(t)) leaks.Add($"{where}: {t}");
        }

        static bool Visible(MethodBase m) => m.IsPublic || m.IsFamily || m.IsFamilyOrAssembly;

        foreach (var type in assembly.GetExportedTypes())
        {
            if (type.BaseType is { } b) Check(b, $"{type} base type");
            foreach (var i in type.GetInterfaces()) Check(i, $"{type} implements");
            foreach (var m in type.GetMethods(all).Where(Visible))
            {
                Check(m.ReturnType, $"{type}.{m.Name} returns");
                foreach (var p in m.GetParameters()) Check(p.ParameterType, $"{type}.{m.Name}({p.Name})");
                foreach (var g in m.GetGenericArguments()) Check(g, $"{type}.{m.Name}<{g.Name}>");
            }
            foreach (var c in type.GetConstructors(all).Where(Visible))
                foreach (var p in c.GetParameters()) Check(p.ParameterType, $"{type}..ctor({p.Name})");
            foreach (var p in type.GetProperties(all).Where(p => p.GetAccessors(true).Any(Visible)))
            {
                Check(p.PropertyType, $"{type}.{p.Name}");
                foreach (var ip in p.GetIndexParameters()) Check(ip.ParameterType, $"{type}.{p.Name}[{ip.Name}]");
            }
            foreach (var f in type.GetFields(all).Where(f => f.IsPublic || f.IsFamily || f.IsFamilyOrAssembly))
                Check(f.FieldType, $"{type}.{f.Name}");
            foreach (var e in type.GetEvents(all)) Check(e.EventHandlerType!, $"{type}.{e.Name}");
        }
        return leaks;
    }

    [Fact]
    public void No_FSharpCore_type_in_any_public_signature()
    {
        var assembly = typeof(Net).Assembly;
        Assert.True(assembly.GetExportedTypes().Length >= 15, "the scan should see the whole host surface");
        var leaks = FSharpLeaks(assembly);
        Assert.True(leaks.Count == 0, "F# types in the public API:\n" + string.Join("\n", leaks));
    }

    // The F# members declared for both languages: a CompiledName makes F# emit CompilationSourceName.
    private static List<MethodInfo> DeclaredForCSharp(Assembly assembly) =>
        assembly.GetExportedTypes()
            .SelectMany(t => t.GetMethods(BindingFlags.Public | BindingFlags.Static | BindingFlags.DeclaredOnly))
            .Where(m => m.GetCustomAttribute<Microsoft.FSharp.Core.CompilationSourceNameAttribute>() is not null)
            .ToList();

    [Fact]
    public void Nn_layers_losses_and_models_are_declared_for_CSharp_with_PascalCase_names_and_NET_types()
    {
        var members = DeclaredForCSharp(typeof(FunctionalNets.Nn.Layers).Assembly);
        Assert.True(members.Count >= 45, $"expected every built-in layer, loss and model, found {members.Count}");
        // A loss is an F# function (Tensor -> Tensor -> Tensor) by design, so the training fold can take any
        // F# function as a loss; the host wraps the Criterion's loss in its own Loss class.
        var loss = typeof(Microsoft.FSharp.Core.FSharpFunc<Tensor, Microsoft.FSharp.Core.FSharpFunc<Tensor, Tensor>>);
        var problems = new List<string>();
        foreach (var m in members)
        {
            var where = $"{m.DeclaringType!.Name}.{m.Name}";
            if (!char.IsUpper(m.Name[0])) problems.Add($"{where}: not PascalCase");
            if (m.ReturnType != loss && MentionsFSharp(m.ReturnType)) problems.Add($"{where} returns {m.ReturnType}");
            var optionalSeen = false;
            foreach (var p in m.GetParameters())
            {
                // An F# '?x' optional compiles to FSharpOption, which this catches too.
                if (MentionsFSharp(p.ParameterType)) problems.Add($"{where}({p.Name}): {p.ParameterType}");
                // C# can omit trailing [Optional] parameters only: a required one after them forces every caller
                // to pass the optional ones.
                if (optionalSeen && !p.IsOptional) problems.Add($"{where}({p.Name}): required after an optional parameter");
                optionalSeen |= p.IsOptional;
            }
        }
        Assert.True(problems.Count == 0, "members C# cannot call idiomatically:\n" + string.Join("\n", problems));
    }

    [Fact]
    public void The_host_layers_and_losses_wrap_the_FSharp_declarations_of_the_same_names()
    {
        var declared = DeclaredForCSharp(typeof(FunctionalNets.Nn.Layers).Assembly).Select(m => m.Name).ToHashSet();
        // Host-only members: functions written in C# (Lambda, Custom), one switch over two F# layers
        // (PositionalEncoding: Sinusoidal/Learned), and the language-model loss over reshaped logits.
        var hostOnly = new HashSet<string> { "Lambda", "Custom", "PositionalEncoding", "SequenceCrossEntropy" };
        var missing = typeof(Layers).GetMethods(BindingFlags.Public | BindingFlags.Static | BindingFlags.DeclaredOnly)
            .Concat(typeof(Losses).GetMethods(BindingFlags.Public | BindingFlags.Static | BindingFlags.DeclaredOnly))
            .Select(m => m.Name)
            .Where(n => !hostOnly.Contains(n) && !declared.Contains(n))
            .Distinct()
            .ToList();
        Assert.True(missing.Count == 0, "host members with no F# declaration of the same name: " + string.Join(", ", missing));
    }

    [Fact]
    public void The_check_itself_flags_FSharp_types()
    {
        Assert.True(MentionsFSharp(typeof(Microsoft.FSharp.Core.FSharpFunc<int, int>)));
        Assert.True(MentionsFSharp(typeof(Microsoft.FSharp.Collections.FSharpList<string>)));
        Assert.True(MentionsFSharp(typeof(Microsoft.FSharp.Core.FSharpOption<int>[])));
        Assert.True(MentionsFSharp(typeof(Func<Microsoft.FSharp.Core.Unit, int>)));
        Assert.True(MentionsFSharp(typeof(IReadOnlyDictionary<string, Microsoft.FSharp.Collections.FSharpMap<string, int>>)));
        Assert.True(MentionsFSharp(typeof(Tuple<int, Microsoft.FSharp.Core.FSharpOption<int>>)));
        Assert.False(MentionsFSharp(typeof(IReadOnlyDictionary<string, IReadOnlyList<double>>)));
        Assert.False(MentionsFSharp(typeof(Tensor)));
        // And the whole-assembly scan finds leaks where they exist: FSharp.Core's own surface is full of them.
        Assert.NotEmpty(FSharpLeaks(typeof(Microsoft.FSharp.Core.FuncConvert).Assembly));
    }
}
