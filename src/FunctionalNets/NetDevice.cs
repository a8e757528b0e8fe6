using FunctionalNets.Nn;

namespace FunctionalNets;

// The net's device: where its parameters, state and optimizer state live, and where Fit, Evaluate, Predict and
// Generate move each batch before running the model.
public sealed partial class Net
{
    private Device device = Device.Cpu;

    /// <summary>The device the net trains and predicts on (see <see cref="To"/>).</summary>
    public Device Device => Alive(nameof(Device), device);

    /// <summary>Moves the net to a device (<see cref="Devices"/>): its parameters, state and optimizer state now,
    /// and every later batch of Fit, Evaluate and Predict as it runs; outputs are on that device. Checkpoints load
    /// onto the net's device whichever device saved them.</summary>
    /// <param name="device">The device, e.g. <c>Devices.Cuda()</c>.</param>
    /// <returns>This net, for chaining.</returns>
    public Net To(Device device)
    {
        Alive(nameof(To));
        Guard.NotNull(device, nameof(device), "Net.To");
        // Moved into a local first: a failed copy leaves the net where it was.
        var moved = state is null ? null : Train.toDevice(device, state);
        this.device = device;
        state = moved;
        return this;
    }

    /// <summary>The state on the net's device (a checkpoint loaded on the CPU moves on first use).</summary>
    private TrainState? Placed(TrainState? ts)
    {
        if (ts is null) return null;
        var moved = Train.toDevice(device, ts);
        state = moved;
        return moved;
    }

    private Tensor OnDevice(Tensor t) => CreationOps.ToDevice(device, t);

    /// <summary>The dataset with each batch moved to the net's device.</summary>
    private Dataset OnDevice(Dataset data) => new(global::FunctionalNets.Nn.Dataset.toDevice(device, data.Inner));
}
