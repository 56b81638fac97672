using TorchSharp;
using static TorchSharp.torch;

namespace GanBertBots.Models.Runtime;

/// <summary>
/// Where and in what precision models run. "auto" picks CUDA when a GPU and the CUDA build of
/// TorchSharp are present, else the CPU. Half precision is only offered on CUDA: on the CPU
/// float16/bfloat16 matmuls are slow and less exact, so float32 is used there.
/// </summary>
public sealed record TorchPlacement(Device Device, ScalarType DType)
{
    public static TorchPlacement Cpu { get; } = new(CPU, ScalarType.Float32);

    /// <param name="device">auto, cpu, cuda or cuda:N.</param>
    /// <param name="dtype">auto, float32, float16 or bfloat16.</param>
    public static TorchPlacement Resolve(string? device = "auto", string? dtype = "auto")
    {
        device = string.IsNullOrWhiteSpace(device) ? "auto" : device.Trim().ToLowerInvariant();
        dtype = string.IsNullOrWhiteSpace(dtype) ? "auto" : dtype.Trim().ToLowerInvariant();
        Device dev;
        if (device == "auto") dev = cuda.is_available() ? CUDA : CPU;
        else if (device == "cpu") dev = CPU;
        else if (device.StartsWith("cuda", StringComparison.Ordinal))
        {
            if (!cuda.is_available())
                throw new UserFacingException($"device '{device}' was asked for, but no CUDA GPU is available to TorchSharp " +
                                              "(this build uses the CPU backend unless built with -p:TorchBackend=cuda)");
            dev = torch.device(device);
        }
        else throw new UserFacingException($"unknown device '{device}' (use auto, cpu, cuda or cuda:N)");

        ScalarType type = dtype switch
        {
            "auto" or "float32" or "fp32" => ScalarType.Float32,
            "float16" or "fp16" or "half" => ScalarType.Float16,
            "bfloat16" or "bf16" => ScalarType.BFloat16,
            _ => throw new UserFacingException($"unknown dtype '{dtype}' (use auto, float32, float16 or bfloat16)"),
        };
        if (type != ScalarType.Float32 && dev.type != DeviceType.CUDA)
            throw new UserFacingException($"dtype {dtype} is only supported on CUDA; the CPU runs float32");
        return new TorchPlacement(dev, type);
    }

    public override string ToString() => $"{Device.type.ToString().ToLowerInvariant()}/{DType.ToString().ToLowerInvariant()}";
}
