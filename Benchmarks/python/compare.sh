#!/usr/bin/env bash
# Runs the TorchSharp quick modes and the PyTorch reference BACK TO BACK, interleaved, REPS times, printing the load
# average before each run. Not part of the build or of CI. From the repository root:
#
#   dotnet build -c Release Benchmarks/MLPipelines.Benchmarks
#   Benchmarks/python/compare.sh train cnn 3     # or: train mlp 3, train all 3, infer 3
#
# TORCH_THREADS (default 2) applies to both sides; see docs/benchmarks.md.
set -euo pipefail
mode=${1:-train}; net=${2:-all}; reps=${3:-3}
root=$(cd "$(dirname "$0")/../.." && pwd)
exe="$root/Benchmarks/MLPipelines.Benchmarks/bin/Release/net10.0/MLPipelines.Benchmarks"
py="$root/Benchmarks/python/torch_reference.py"
export TORCH_THREADS=${TORCH_THREADS:-2}
for i in $(seq 1 "$reps"); do
  echo "## rep $i, load $(cut -d' ' -f1-3 /proc/loadavg)"
  if [ "$mode" = infer ]; then
    "$exe" onnx-quick
    /usr/bin/python3 "$py" infer
  else
    "$exe" torch-quick "$net"
    /usr/bin/python3 "$py" train "$net"
  fi
done
