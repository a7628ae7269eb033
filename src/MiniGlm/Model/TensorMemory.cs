using static TorchSharp.torch;

namespace MiniGlm.Model;

/// Raw access to fp32 CPU tensors for the hand-written decode paths (<see cref="Int8Decoder"/>, <see cref="RowWeight"/>).
internal static unsafe class TensorMemory
{
    /// The first element of a contiguous fp32 tensor.
    public static float* Floats(Tensor contiguous)
    {
        using var storage = contiguous.storage<float>();
        return (float*)storage.data_ptr() + contiguous.storage_offset();
    }

    /// The address of a tensor's storage: equal for views of the same memory, new after to() or a load.
    public static IntPtr StorageAddress(Tensor t)
    {
        using var storage = t.storage<float>();
        return storage.data_ptr();
    }
}
