namespace FunctionalNets;

// The net's lifetime: Dispose hands its tensors back to the allocator (device memory, on a GPU) at once.
public sealed partial class Net : IDisposable
{
    private bool disposed;

    /// <summary>Releases the net's parameters, state and optimizer state now rather than when the garbage
    /// collector finds them. Tensors read from the net (<see cref="Parameters"/>, <see cref="State"/>) or given to
    /// it (<see cref="SetParameters"/>) are released with it. Afterwards every member but ToString throws
    /// an <see cref="ObjectDisposedException"/> naming it; disposing twice does nothing.</summary>
    public void Dispose()
    {
        if (disposed) return;
        disposed = true;
        var ts = state;
        state = null;
        if (ts is not null) Scope.donate(new object[] { ts.Params, ts.State, ts.Opt }, null);
    }

    /// <summary>The value of a property, after checking that the net is alive.</summary>
    private T Alive<T>(string property, T value)
    {
        Alive(property);
        return value;
    }

    /// <summary>The one check that the net is still alive, naming the method called.</summary>
    private void Alive(string operation)
    {
        if (disposed)
            throw new ObjectDisposedException(nameof(Net), $"Net.{operation}: the net was disposed; build a new one.");
    }
}
