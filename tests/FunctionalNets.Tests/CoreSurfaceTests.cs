using System.Reflection;
using Microsoft.FSharp.Core;
using System.Runtime.CompilerServices;
using System.Text.RegularExpressions;
using FunctionalNets;
using Xunit;

namespace FunctionalNets.Tests;

/// <summary>The F# core's tensor ops as C# sees them: every public static method that takes or returns a tensor has
/// a PascalCase name and only .NET types in its signature, and TensorOpsFromCSharpTests calls each of them.</summary>
public class CoreSurfaceTests
{
    // The lifting machinery (TensorCore), F#-only sugar (TensorMembers: slicing, x.T), the differentiation modules
    // (Diff, Reverse), scopes and trees are not tensor ops; every other public static member of Core that takes or
    // returns a tensor is.
    private static readonly HashSet<string> NotOps = ["TensorCore", "TensorMembers", "Diff", "DiffModule", "Reverse", "Scope", "PTree", "PTreeModule"];

    private static bool IsTensor(Type t) =>
        t == typeof(Tensor) || t == typeof(IEnumerable<Tensor>) || t == typeof(Tensor[]);

    /// <summary>The public tensor ops of FunctionalNets.Core, as (declaring type, method).</summary>
    internal static List<MethodInfo> CoreOps() =>
        typeof(Tensor).Assembly.GetExportedTypes()
            .Where(t => !NotOps.Contains(t.Name) && !t.IsNested)
            .SelectMany(t => t.GetMethods(BindingFlags.Public | BindingFlags.Static | BindingFlags.DeclaredOnly))
            .Where(m => !m.IsSpecialName && !(m.DeclaringType == typeof(Tensor) && m.Name.StartsWith("New")))
            .Where(m => IsTensor(m.ReturnType) || (m.GetParameters() is [var p, ..] && IsTensor(p.ParameterType)))
            .ToList();

    private static string Describe(MethodInfo m) =>
        $"{m.DeclaringType!.Name}.{m.Name}({string.Join(", ", m.GetParameters().Select(p => p.ParameterType.Name + " " + p.Name))})";

    // Parameters C# cannot write naturally: F# types, and System.Tuple (C# writes value tuples).
    private static bool Awkward(Type t) =>
        PublicApiTests.MentionsFSharp(t) || (t.IsGenericType && t.GetGenericTypeDefinition() == typeof(Tuple<,>))
        || (t.IsGenericType && t.GetGenericArguments().Any(Awkward));

    [Fact]
    public void The_scan_sees_the_op_families()
    {
        var names = CoreOps().Select(m => m.Name).ToHashSet();
        Assert.True(names.Count >= 100, $"only {names.Count} ops found: {string.Join(", ", names.Order())}");
        foreach (var op in new[] { "Relu", "Slice", "Cat", "Stack", "Sin", "Where", "Maximum", "Gather", "ScatterAdd", "Pad", "Conv2d", "MaxPool2d", "Zeros", "OfArray" })
            Assert.Contains(op, names);
    }

    [Fact]
    public void Every_core_op_has_a_PascalCase_name_and_no_FSharp_type()
    {
        var bad = CoreOps()
            .Where(m => !char.IsUpper(m.Name[0]) || m.Name.Contains('.') || PublicApiTests.MentionsFSharp(m.ReturnType)
                        || m.GetParameters().Any(p => PublicApiTests.MentionsFSharp(p.ParameterType)))
            .Select(Describe)
            .ToList();
        Assert.True(bad.Count == 0, "not callable from C# as written:\n" + string.Join("\n", bad));
    }

    [Fact]
    public void Ops_on_a_tensor_are_extension_methods()
    {
        var bad = CoreOps()
            .Where(m => m.DeclaringType != typeof(Tensor) && m.GetParameters() is [var p, ..] && IsTensor(p.ParameterType))
            .Where(m => !m.IsDefined(typeof(ExtensionAttribute)))
            .Select(Describe)
            .ToList();
        Assert.True(bad.Count == 0, "C# cannot call these as x.Op(...):\n" + string.Join("\n", bad));
    }

    [Fact]
    public void Every_core_op_is_called_from_CSharp()
    {
        var source = File.ReadAllText(Path.Combine(SourceFolder(), "TensorOpsFromCSharpTests.cs"));
        var called = Regex.Matches(source, @"\b([A-Z]\w*)\s*\(").Select(m => m.Groups[1].Value).ToHashSet();
        var missing = CoreOps().Select(m => m.Name).Distinct().Where(n => !called.Contains(n)).Order().ToList();
        Assert.True(missing.Count == 0, "ops with no call in TensorOpsFromCSharpTests.cs:\n" + string.Join("\n", missing));
    }

    [Fact]
    public void The_coverage_scan_would_see_a_missing_op()
    {
        // The scan reads call syntax, so a name only mentioned in a comment or a string does not count as called.
        var called = Regex.Matches("// Relu\nvar y = x.Sigmoid();", @"\b([A-Z]\w*)\s*\(").Select(m => m.Groups[1].Value).ToList();
        Assert.Equal(["Sigmoid"], called);
    }

    [Fact]
    public void Tuple_parameters_are_the_only_awkward_ones_left()
    {
        // Kernel, stride and padding pairs are System.Tuple (F# tuples) in the core: C# passes Tuple.Create(2, 3) or
        // the square int overload. Nothing else in a signature is awkward for C#.
        var awkward = CoreOps()
            .Where(m => m.GetParameters().Any(p => Awkward(p.ParameterType)))
            .Select(m => m.Name)
            .Distinct()
            .Order()
            .ToList();
        Assert.Equal(["AdaptiveAvgPool2d", "AvgPool2d", "Conv2d", "ConvTranspose2d", "MaxPool2d", "MaxPool2dWithIndices", "Pad", "UpsampleBilinear", "UpsampleNearest"], awkward);
    }

    private static string SourceFolder([CallerFilePath] string path = "") => Path.GetDirectoryName(path)!;
}

/// <summary>Bad arguments from C# to the core's tensor ops: an ArgumentException naming the parameter and the op.</summary>
public class CoreArgumentTests
{
    private static readonly Tensor X = Tensor.OfArray(new[] { 1.0, 2 }, [2]);

    private static void Names<TException>(string param, string op, Action call) where TException : ArgumentException
    {
        var e = Assert.Throws<TException>(call);
        Assert.Equal(param, e.ParamName);
        Assert.Contains(op, e.Message);
    }

    [Fact]
    public void Null_tensors_and_arrays()
    {
        Names<ArgumentNullException>("x", "relu", () => ((Tensor)null!).Relu());
        Names<ArgumentNullException>("b", "add", () => _ = X + (Tensor)null!);
        Names<ArgumentNullException>("b", "matmul", () => X.Matmul(null!));
        Names<ArgumentNullException>("x", "sum", () => ((Tensor)null!).Sum());
        Names<ArgumentNullException>("data", "ofArray", () => Tensor.OfArray(null!, [2]));
        Names<ArgumentNullException>("shape", "zeros", () => Tensor.Zeros(null!));
    }

    // A value for each parameter type an op takes, so that only the parameter under test is null.
    private static object? Sample(ParameterInfo p)
    {
        var t = p.ParameterType;
        if (p.IsOptional) return p.HasDefaultValue && p.DefaultValue is not DBNull ? p.DefaultValue : (t.IsValueType ? Activator.CreateInstance(t) : null);
        if (t == typeof(Tensor)) return Tensor.Ones([1, 1, 2, 2]);
        if (t == typeof(IEnumerable<Tensor>) || t == typeof(Tensor[])) return new[] { Tensor.Ones([2]) };
        if (t == typeof(int)) return 1;
        if (t == typeof(long)) return 1L;
        if (t == typeof(double)) return 1.0;
        if (t == typeof(bool)) return false;
        if (t == typeof(IEnumerable<int>) || t == typeof(int[])) return new[] { 1 };
        if (t == typeof(DType)) return DType.Float32;
        if (t == typeof(Device)) return Device.Cpu;
        if (t == typeof(Key)) return Key.Create(0);
        if (t == typeof(PadMode)) return PadMode.Reflect;
        if (t == typeof(Tuple<int, int>)) return Tuple.Create(1, 1);
        if (t == typeof(IEnumerable<Tuple<int, int>>)) return new[] { Tuple.Create(1, 1) };
        if (t == typeof(Array)) return new float[1];
        if (t == typeof(object)) return 1.0;
        throw new InvalidOperationException($"no sample for {t} ({p.Member.Name}); add one");
    }

    [Fact]
    public void A_null_argument_to_any_core_op_names_the_parameter_and_the_op()
    {
        var failures = new List<string>();
        var checkedCount = 0;
        foreach (var m in CoreSurfaceTests.CoreOps())
        {
            var ps = m.GetParameters();
            // The F# name the messages use (relu, toFloatArray) is recorded beside the compiled one.
            var op = m.GetCustomAttribute<CompilationSourceNameAttribute>()?.SourceName ?? m.Name;
            for (var i = 0; i < ps.Length; i++)
            {
                if (ps[i].ParameterType.IsValueType || ps[i].IsOptional) continue;
                var args = ps.Select(Sample).ToArray();
                args[i] = null;
                checkedCount++;
                try
                {
                    m.Invoke(null, args);
                    failures.Add($"{m.DeclaringType!.Name}.{m.Name}({ps[i].Name}: null) did not throw");
                }
                catch (TargetInvocationException e) when (e.InnerException is ArgumentNullException a
                                                          && a.ParamName == ps[i].Name && a.Message.Contains(op, StringComparison.OrdinalIgnoreCase)) { }
                catch (TargetInvocationException e)
                {
                    failures.Add($"{m.DeclaringType!.Name}.{m.Name}({ps[i].Name}: null): {e.InnerException?.GetType().Name}: {e.InnerException?.Message}");
                }
            }
        }
        Assert.True(checkedCount >= 150, $"only {checkedCount} parameters checked");
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    [Fact]
    public void A_null_entry_in_a_tensor_list_is_named()
    {
        var e = Assert.Throws<ArgumentNullException>(() => new[] { Tensor.Ones([2]), null! }.Cat());
        Assert.Equal("tensors[1]", e.ParamName);
        Assert.Contains("cat", e.Message);
    }

    [Fact]
    public void Negative_and_mismatched_shapes()
    {
        Names<ArgumentException>("shape", "zeros", () => Tensor.Zeros([2, -1]));
        Names<ArgumentException>("shape", "randn", () => Tensor.Randn(Key.Create(0), [-3]));
        Names<ArgumentException>("data", "ofArray", () => Tensor.OfArray(new[] { 1.0, 2, 3 }, [2]));
        Names<ArgumentException>("data", "ofArray", () => Tensor.OfArray(new string[] { "a" }, [1]));
        Names<ArgumentException>("dims", "Shape.Create", () => Shape.Create([-1]));
        // An empty shape is the scalar shape (torch.zeros(()) is a scalar too).
        Assert.Equal(0, Tensor.Zeros([]).Rank);
    }

    [Fact]
    public void Wrong_dtypes()
    {
        var ints = Tensor.OfArray(new long[] { 1, 2 }, [2]);
        Names<ArgumentException>("x", "exp", () => ints.Exp());
        Names<ArgumentException>("b", "add", () => _ = X + ints);
        Names<ArgumentException>("x", "mean", () => ints.Mean());
        Names<ArgumentException>("indices", "oneHot", () => X.OneHot(3));
        Names<ArgumentException>("a", "matmul", () => ints.Reshape([1, 2]).Matmul(ints.Reshape([2, 1])));
        Names<ArgumentException>("x", "layerNorm", () => ints.LayerNorm([2]));
        Names<ArgumentException>("cond", "where", () => ComparisonOps.Where(X, X, X));
        Names<ArgumentException>("index", "gather", () => X.Gather(0, X));
    }
}
