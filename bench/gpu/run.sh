#!/usr/bin/env bash
# The GPU check (issue 12). One program, bench/gpu/GpuCheck, prints JSON lines: what the CUDA backend found
# (libraries, every path tried, the device), the backend conformance suite member by member on the device, SGEMM
# throughput, and MNIST MLP training steps timed beside the CPU with the losses compared.
#
#   bench/gpu/run.sh publish   self-contained linux-x64 build packed as bench/gpu/bin/gpucheck.tar.gz (~40 MB;
#                              bin/ is ignored by git, so the device tool must carry it: carry=["bench/gpu/bin/gpucheck.tar.gz"])
#   bench/gpu/run.sh smoke     the same program here on ILGPU's CPU accelerator with tiny settings (no GPU needed)
#   bench/gpu/run.sh device    on the GPU machine (no .NET there): unpack, run on Device.Cuda 0, write
#                              $OUT/gpucheck.jsonl and $OUT/nvidia-smi.txt
#
# Not yet covered (see the issue): MNIST CNN / CIFAR-10 accuracy runs and the PyTorch peers with --device cuda.
set -euo pipefail
cd "$(dirname "$0")/../.."
mode="${1:-smoke}"
case "$mode" in
  publish)
    rm -rf bench/gpu/bin/publish
    dotnet publish -c Release -r linux-x64 --self-contained -o bench/gpu/bin/publish bench/gpu/GpuCheck/GpuCheck.fsproj -nologo -v quiet
    tar czf bench/gpu/bin/gpucheck.tar.gz -C bench/gpu/bin/publish .
    ls -la bench/gpu/bin/gpucheck.tar.gz
    ;;
  smoke)
    dotnet build -c Release bench/gpu/GpuCheck -nologo -v quiet
    dotnet bench/gpu/GpuCheck/bin/Release/net10.0/GpuCheck.dll --smoke --data data/mnist
    ;;
  device)
    out="${OUT:-bench/gpu/bin/out}"
    mkdir -p "$out" /tmp/gpucheck
    tar xzf bench/gpu/bin/gpucheck.tar.gz -C /tmp/gpucheck
    (nvidia-smi || true) > "$out/nvidia-smi.txt" 2>&1
    timeout 500 /tmp/gpucheck/GpuCheck --data data/mnist | tee "$out/gpucheck.jsonl"
    ;;
  *)
    echo "usage: bench/gpu/run.sh publish|smoke|device" >&2
    exit 2
    ;;
esac
