#!/usr/bin/env bash
# One GPU call for admfit_torch: the CUDA tests, then the THUMOS'14-size throughput benchmark
# (T=2304, D=2048, batch 3; float32 and bfloat16 AMP). Needs PYTHONPATH to reach the repository root
# (and pydantic). Outputs go under $OUT when set (else /tmp/admfit_gpu_check). Runs in about 2-3 minutes.
set -uo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="$(pwd)${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
OUT_DIR="${OUT:-/tmp/admfit_gpu_check}"
mkdir -p "$OUT_DIR"
status=0

python3 - <<'PY' 2>&1 | tee "$OUT_DIR/device.txt"
import torch
print("torch", torch.__version__, "cuda", torch.version.cuda, "available", torch.cuda.is_available())
if torch.cuda.is_available():
    print("device:", torch.cuda.get_device_name(0))
for name in ("pydantic", "yaml", "numba", "scipy", "rich", "typer", "pytest"):
    try:
        __import__(name)
    except ImportError as error:
        print("MISSING", name, error)
PY

echo "== CUDA tests"
timeout 150 python3 -m pytest -q -p no:cacheprovider tests/torch/test_cuda.py 2>&1 | tee "$OUT_DIR/cuda_tests.txt" || status=1

echo "== throughput (THUMOS'14 size)"
timeout 240 python3 -m benchmarks torch_throughput -- --size thumos14 --json "$OUT_DIR/torch_throughput.json" 2>&1 \
    | tee "$OUT_DIR/torch_throughput.txt" || status=1
exit $status
