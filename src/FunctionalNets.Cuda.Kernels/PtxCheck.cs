using System.Reflection;
using ILGPU;
using ILGPU.Backends.EntryPoints;
using ILGPU.Backends.PTX;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;

namespace FunctionalNets.Cuda.Kernels;

/// <summary>
/// Compiles every device kernel, for every element type the launcher instantiates, to PTX for a given
/// architecture without a GPU or a driver: a kernel that uses something the GPU backend cannot translate fails
/// here (on any machine) rather than at its first launch on a GPU.
/// </summary>
public static class PtxCheck
{
    private static readonly (Type T, Type O)[] Types =
    [
        (typeof(float), typeof(F32Ops)),
        (typeof(double), typeof(F64Ops)),
        (typeof(int), typeof(I32Ops)),
        (typeof(long), typeof(I64Ops)),
        (typeof(byte), typeof(BoolOps)),
    ];

    /// <summary>Kernels launched with an explicit group size (shared memory, barriers).</summary>
    private static bool ExplicitlyGrouped(MethodInfo m) => m.Name == nameof(DeviceKernels.GemmTiled);

    /// <summary>Every kernel method closed over the element types it is launched with.</summary>
    public static IEnumerable<MethodInfo> Kernels()
    {
        foreach (var host in new[] { typeof(DeviceKernels), typeof(ConvPoolKernels), typeof(ResampleKernels), typeof(RowKernels) })
            foreach (var m in host.GetMethods(BindingFlags.Public | BindingFlags.Static))
            {
                var ps = m.GetParameters();
                if (ps.Length == 0 || (ps[0].ParameterType != typeof(Index1D) && !ExplicitlyGrouped(m))) continue;
                var args = m.GetGenericArguments();
                if (args.Length == 0) yield return m;
                else if (args.Length == 1)
                    foreach (var (t, _) in Types) yield return m.MakeGenericMethod(t);
                else if (args.Length == 2)
                    foreach (var (t, o) in Types) yield return m.MakeGenericMethod(t, o);
                else if (args.Length == 4)
                    foreach (var (t1, o1) in Types)
                        foreach (var (t2, o2) in Types)
                            yield return m.MakeGenericMethod(t1, o1, t2, o2);
            }
    }

    /// <summary>Compiles each kernel to PTX for sm_XY; returns (kernel, null) on success or (kernel, error).</summary>
    public static List<(string Kernel, string? Error, int PtxLength)> CompileAll(CudaArchitecture arch, CudaInstructionSet isa)
    {
        var results = new List<(string, string?, int)>();
        using var ctx = Context.Create(b => b.Cuda().EnableAlgorithms().Optimize(OptimizationLevel.O2));
        using var backend = new PTXBackend(ctx, new CudaCapabilityContext(arch), arch, isa, null);
        foreach (var m in Kernels())
        {
            var name = m.DeclaringType!.Name + "." + m.Name + "<" + string.Join(",", m.GetGenericArguments().Select(a => a.Name)) + ">";
            try
            {
                var entry = ExplicitlyGrouped(m)
                    ? EntryPointDescription.FromExplicitlyGroupedKernel(m)
                    : EntryPointDescription.FromImplicitlyGroupedKernel(m);
                var compiled = backend.Compile(entry, default(KernelSpecialization));
                results.Add((name, null, ((PTXCompiledKernel)compiled).PTXAssembly.Length));
            }
            catch (Exception e)
            {
                results.Add((name, e.GetType().Name + ": " + e.Message, 0));
            }
        }
        return results;
    }
}
