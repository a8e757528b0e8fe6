#!/usr/bin/env bash
# The GPU check (issue 12). One program, bench/gpu/GpuCheck, prints JSON lines: what the CUDA backend found, the
# backend conformance suite on the device, Threefry bit-exactness, SGEMM TFLOP/s, MNIST MLP steps beside the CPU, an
# MNIST MLP epoch, the MNIST CNN to 99.2% and a CIFAR-10 ResNet-18 to 93%; bench/peers/pytorch_gpucheck_cuda.py
# prints the same checks for PyTorch on the same GPU. bench/gpu/README.md lists the device calls in order.
#
#   bench/gpu/run.sh publish            self-contained linux-x64 build packed as bench/gpu/bin/gpucheck.tar.gz
#   bench/gpu/run.sh stage-cifar [ARCHIVE]
#                                       splits cifar-10-binary.tar.gz (default $FUNCTIONALNETS_DATA/cifar10/...) into
#                                       bench/gpu/bin/cifar/part-00.. of 45 MiB, one per device call (64 MiB a call)
#   bench/gpu/run.sh smoke              GpuCheck here on ILGPU's CPU accelerator with tiny settings (minutes)
#   bench/gpu/run.sh device             on the GPU machine (no .NET there): joins the CIFAR parts, unpacks, runs
#                                       GpuCheck then the PyTorch peer; writes $OUT/gpucheck.jsonl, $OUT/pytorch.jsonl,
#                                       $OUT/nvidia-smi.txt. Budgets: CNN_SECONDS (60), CIFAR_EPOCHS (10),
#                                       CIFAR_SECONDS (130), PEER_CIFAR_SECONDS (90): the call stays under 8 minutes.
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
  stage-cifar)
    archive="${2:-${FUNCTIONALNETS_DATA:-data}/cifar10/cifar-10-binary.tar.gz}"
    [ -f "$archive" ] || { echo "stage-cifar: no archive at $archive; pass its path" >&2; exit 2; }
    rm -rf bench/gpu/bin/cifar && mkdir -p bench/gpu/bin/cifar
    split -b 45M -d -a 2 "$archive" bench/gpu/bin/cifar/part-
    md5sum "$archive" | cut -d' ' -f1
    ls -la bench/gpu/bin/cifar
    ;;
  smoke)
    dotnet build -c Release bench/gpu/GpuCheck -nologo -v quiet
    dotnet bench/gpu/GpuCheck/bin/Release/net10.0/GpuCheck.dll --smoke --data data/mnist
    ;;
  device)
    out="${OUT:-bench/gpu/bin/out}"
    mkdir -p "$out" /tmp/gpucheck /tmp/cifar
    [ -f bench/gpu/bin/gpucheck.tar.gz ] || { echo "device: bench/gpu/bin/gpucheck.tar.gz is missing: carry it (README)" >&2; exit 2; }
    tar xzf bench/gpu/bin/gpucheck.tar.gz -C /tmp/gpucheck
    (nvidia-smi || true) > "$out/nvidia-smi.txt" 2>&1
    cifar=()
    if ls bench/gpu/bin/cifar/part-* > /dev/null 2>&1; then
      cat bench/gpu/bin/cifar/part-* > /tmp/cifar/cifar-10-binary.tar.gz
      echo "cifar archive md5 $(md5sum /tmp/cifar/cifar-10-binary.tar.gz | cut -d' ' -f1) ($(ls bench/gpu/bin/cifar | wc -l) parts)"
      cifar=(--cifar /tmp/cifar/cifar-10-binary.tar.gz)
    else
      echo "device: no CIFAR parts in bench/gpu/bin/cifar (the machine went back between calls?): CIFAR-10 is skipped" >&2
    fi
    # One call of at most 8 minutes: GpuCheck <= 290 s, the peer <= 150 s. The CIFAR schedules are planned for
    # CIFAR_EPOCHS (10) and cut at CIFAR_SECONDS; raise both when a call can give CIFAR-10 more time.
    ce="${CIFAR_EPOCHS:-10}"
    timeout 290 /tmp/gpucheck/GpuCheck --data data/mnist "${cifar[@]}" --cnn-seconds "${CNN_SECONDS:-60}" \
      --cifar-epochs "$ce" --cifar-seconds "${CIFAR_SECONDS:-130}" | tee "$out/gpucheck.jsonl" || echo "GpuCheck exit $?"
    PYTHONUNBUFFERED=1 timeout 150 python3 bench/peers/pytorch_gpucheck_cuda.py --device cuda --mnist data/mnist \
      ${cifar[@]:+--cifar /tmp/cifar/cifar-10-binary.tar.gz} --cnn-seconds "${CNN_SECONDS:-60}" \
      --cifar-epochs "$ce" --cifar-seconds "${PEER_CIFAR_SECONDS:-90}" | tee "$out/pytorch.jsonl" || echo "peer exit $?"
    ;;
  *)
    echo "usage: bench/gpu/run.sh publish|stage-cifar [ARCHIVE]|smoke|device" >&2
    exit 2
    ;;
esac
