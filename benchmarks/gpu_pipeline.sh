#!/usr/bin/env bash
# One GPU call: the CUDA tests, then the whole ADM-Loc loop (base -> ADM pseudo-labels -> main -> eval, `admfit-torch train`) at
# THUMOS'14 size: synthetic features of dimension DIM (default 2048, as I3D) laid on every THUMOS'14 validation and
# test video, the thumos14 preset (512 channels, 4 levels, input 2304, batch 3, bf16 AMP), EPOCHS per training
# stage (the preset's 100 do not fit one 10-minute device call; the log gives seconds per epoch to scale).
# Before it, the training loop's speed-up at THUMOS'14 size (bf16 AMP) against the code of BASELINE, measured in the same
# run (`python -m benchmarks torch_throughput -- --baseline`, interleaved A B A B): BASELINE is a git revision (default:
# the benchmark's BASELINE_COMMIT, main before the training loop's speed-up) where this is a git checkout, or a folder holding
# that code (a device machine may get the files without .git: `git archive 73aa70b | tar -x -C FOLDER` makes one, 4 MB);
# SPEEDUP=0 skips it. The train log's seconds per epoch are the end-to-end figure (7.2-7.6 s per base epoch before).
# Needs PYTHONPATH to reach the repository root (and pydantic). Files go under $OUT (else /tmp/admfit_gpu_pipeline).
# Environment: DIM, EPOCHS (20), WARMUP (2), MAX_VIDEOS (all), CONFIG (thumos14), EXTRA (more train options),
# BASELINE, SPEEDUP (1).
set -uo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="$(pwd)${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
OUT_DIR="${OUT:-/tmp/admfit_gpu_pipeline}"
DATA="${DATA:-/tmp/admfit_synth_thumos14}"
RUN="${RUN:-/tmp/admfit_run_thumos14}"
mkdir -p "$OUT_DIR"
status=0
python3 -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), torch.cuda.get_device_name(0) if torch.cuda.is_available() else '')"
echo "== CUDA tests"
timeout 150 python3 -m pytest -q -p no:cacheprovider tests/torch/test_cuda.py 2>&1 | tee "$OUT_DIR/cuda_tests.txt" || status=1
if [ "${SPEEDUP:-1}" != 0 ]; then
    echo "== training loop speed-up (THUMOS'14 size, bf16 AMP)"
    timeout 300 python3 -m benchmarks torch_throughput -- --size thumos14 --precision amp --baseline ${BASELINE:+"$BASELINE"} \
        --json "$OUT_DIR/speedup.json" 2>&1 | tee "$OUT_DIR/speedup.txt" || status=1
fi
started=$(date +%s)
python3 -m cli.main synth "$DATA" --like thumos14 --mode features --dim "${DIM:-2048}" --seed 0 --overwrite \
    ${MAX_VIDEOS:+--max-videos "$MAX_VIDEOS"} || exit 1
echo "synth: $(( $(date +%s) - started )) s"
started=$(date +%s)
python3 -m cli.torch_main train --config "${CONFIG:-thumos14}" --output "$RUN" --features "$DATA/features" \
    --annotations "$DATA/annotations.json" --points "$DATA/points.csv" --set "optim.epochs=${EPOCHS:-20}" \
    --set "optim.warmup_epochs=${WARMUP:-2}" --no-progress ${EXTRA:-} 2>&1 | tee "$OUT_DIR/train.log" || status=1
echo "train (all stages): $(( $(date +%s) - started )) s"
for name in report.md report.json stages.json; do cp "$RUN/$name" "$OUT_DIR/" 2>/dev/null || status=1; done
cp "$RUN/base/metrics.jsonl" "$OUT_DIR/base_metrics.jsonl" 2>/dev/null
cp "$RUN/main/metrics.jsonl" "$OUT_DIR/main_metrics.jsonl" 2>/dev/null
ls "$RUN"/figures/*.png 2>/dev/null | head -1 | xargs -r -I{} cp {} "$OUT_DIR/figure.png"
exit $status
