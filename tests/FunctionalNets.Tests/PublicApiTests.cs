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
