namespace FunctionalNets.Kernels.GemmImpl;

/// <summary>
/// A register-tiled inner kernel: C[0..MR, 0..NR] = alpha * (packed A panel) * (packed B panel) + beta * C.
/// The panels come from <see cref="GemmPacking"/> (A: kc steps of MR values, B: kc steps of NR values, zero padded),
/// so the kernel never sees transposes or ragged edges. Static abstract members let the blocked driver be
/// specialised per kernel by the JIT, so the call into <c>Run</c> is direct and the block sizes are constants.
/// </summary>
internal unsafe interface IMicroKernel<T> where T : unmanaged
{
    /// <summary>Rows of the register tile.</summary>
    static abstract int MR { get; }
    /// <summary>Columns of the register tile.</summary>
    static abstract int NR { get; }
    /// <summary>Depth of one packed block: a B micro-panel (KC x NR) should sit in L1.</summary>
    static abstract int KC { get; }
    /// <summary>Rows of one packed A block (MC x KC), sized for L2; a multiple of MR.</summary>
    static abstract int MC { get; }
    /// <summary>Columns of one packed B block (KC x NC), sized for the shared L3; a multiple of NR.</summary>
    static abstract int NC { get; }

    /// <summary>Full-tile update of C (row stride <paramref name="ldc"/>); beta == 0 must not read C.</summary>
    static abstract void Run(nint kc, T* a, T* b, T* c, nint ldc, T alpha, T beta);
}
