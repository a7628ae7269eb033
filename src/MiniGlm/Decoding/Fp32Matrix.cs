using System.Runtime.Intrinsics;
using static TorchSharp.torch;

namespace MiniGlm.Decoding;

/// fp32 weights read in place: the decoder holds an alias of the model's weight (which keeps that storage alive
/// however the model changes later) and streams its [out, in] rows, as the dot products want them.
internal sealed unsafe class Fp32Matrix(Tensor weight) : WeightMatrix(weight)
{
    /// A contiguous fp32 alias (or copy, if the weight is in another dtype) of a tensor and its first element.
    public static Tensor Floats(Tensor tensor, out float* first)
    {
        using var scope = NewDisposeScope();
        var floats = tensor.detach().to(ScalarType.Float32).contiguous().MoveToOuterDisposeScope();
        using var storage = floats.storage<float>();
        first = (float*)storage.data_ptr() + floats.storage_offset();
        return floats.DetachFromDisposeScope();
    }

    protected override void MultiplyRows(float* x, int n, float* y, int from, int to, int lanes) =>
        MultiplyRows<Format>((byte*)Fp32, null, Rows, Cols, x, n, y, from, to, lanes);

    private readonly struct Format : IWeightFormat
    {
        public static int Bytes => sizeof(float);
        public static Vector512<float> Load16(byte* row, int col) => Vector512.Load((float*)row + col);
        public static Vector256<float> Load8(byte* row, int col) => Vector256.Load((float*)row + col);
        public static float Load1(byte* row, int col) => ((float*)row)[col];
    }
}
