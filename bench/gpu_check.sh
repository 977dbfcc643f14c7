#!/usr/bin/env bash
# The GPU, proven: on a machine with an NVIDIA GPU, install convviz and print every CUDA figure of
# issue 16, then run the CUDA-marked tests. Under five minutes in all; each step has its own time
# limit, so a slow or hung step costs its share and the rest still run.
#
#     bash bench/gpu_check.sh            # PYTHON=python3.12 bash bench/gpu_check.sh to choose one
#
# Figures: training throughput of convviz's loop against a plain PyTorch loop on the same GPU
# (float32, bf16 autocast, each with and without torch.compile; goal ≥ 0.95×), explain and Grad-CAM
# on the GPU against a bare forward pass, and (where PySide6 is installed) the window's event-loop
# stalls while the Train tab trains on the GPU (goal p99 < 16 ms). The summary at the end lists each
# step's result; the whole log is also written to $OUT/gpu_check.log when OUT is set (else /tmp).
#
# Offline machines (no package index) work too: the project is installed without its dependencies
# when pip cannot fetch them, and the steps that need a missing package (PySide6 for the window)
# say so and are skipped.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
LOG_DIR=${OUT:-/tmp}
LOG="$LOG_DIR/gpu_check.log"
export PYTHONUNBUFFERED=1 QT_QPA_PLATFORM=offscreen
export CONVVIZ_CACHE_DIR=${CONVVIZ_CACHE_DIR:-/tmp/convviz-gpu-check-cache}
START=$(date +%s)
SUMMARY=()

exec > >(tee "$LOG") 2>&1

step() {  # step NAME SECONDS COMMAND...: run with a time limit, remember how it ended
    local name=$1 limit=$2
    shift 2
    echo
    echo "=== $name (limit ${limit} s, $(( $(date +%s) - START )) s in) ==="
    local began=$(date +%s)
    timeout --kill-after=10 "$limit" "$@"
    local rc=$?
    local took=$(( $(date +%s) - began ))
    case $rc in
        0) SUMMARY+=("ok       ${took}s  $name") ;;
        124|137) SUMMARY+=("TIMEOUT  ${took}s  $name") ;;
        *) SUMMARY+=("FAILED   ${took}s  $name (exit $rc)") ;;
    esac
}

echo "=== install ==="
if ! "$PY" -m pip install -q --retries 0 --timeout 5 -e ".[test]" 2>/dev/null; then
    echo "pip could not fetch the dependencies: installing convviz alone (what is there is used)"
    "$PY" -m pip install -q --no-deps --no-build-isolation -e . || exit 1
fi
"$PY" - <<'EOF' || exit 1
import importlib.util
import torch
print(f"python {__import__('sys').version.split()[0]}, torch {torch.__version__}, CUDA {torch.version.cuda}")
if not torch.cuda.is_available():
    raise SystemExit("no CUDA GPU is visible to torch: nothing to prove here")
print(f"GPU: {torch.cuda.get_device_name(0)}, bf16 {torch.cuda.is_bf16_supported()}")
missing = [m for m in ("PySide6", "pyqtgraph", "pytestqt", "hypothesis") if importlib.util.find_spec(m) is None]
print("missing (their steps are skipped):", ", ".join(missing) or "nothing")
EOF
GUI=--no-gui
if "$PY" -c "import PySide6, pyqtgraph" 2>/dev/null; then GUI=""; fi

# Training: plain PyTorch vs convviz's Trainer on the GPU, interleaved pairs, medians and ranges.
# The limits add up to 4.5 minutes; the steps take about half of that on a current GPU.
step "train float32 (+ window stalls)" 50 "$PY" bench/train_overhead.py --device cuda --pairs 5 --epochs 2 $GUI
step "train bf16 autocast" 35 "$PY" bench/train_overhead.py --device cuda --amp bf16 --pairs 5 --epochs 2 --no-gui
step "train float32, torch.compile" 65 "$PY" bench/train_overhead.py --device cuda --compile --pairs 2 --epochs 2 --no-gui
step "train bf16, torch.compile" 50 "$PY" bench/train_overhead.py --device cuda --amp bf16 --compile --pairs 2 --epochs 2 --no-gui
# Explain: every activation, Grad-CAM, fields and the sliding window with resnet18 on the GPU.
step "explain on cuda" 25 "$PY" bench/explain_latency.py --device cuda --runs 7 --no-app
# The CUDA-marked tests; the window's needs PySide6, pyqtgraph and pytest-qt (and the suite's conftest, PySide6).
TESTS=(tests/test_cuda.py)
if ! "$PY" -c "import PySide6, pyqtgraph, pytestqt" 2>/dev/null; then
    TESTS+=(--noconftest --deselect tests/test_cuda.py::test_the_window_keeps_running_while_a_gpu_trains)
fi
step "CUDA tests" 45 "$PY" -m pytest -q -p no:cacheprovider -m cuda -rs "${TESTS[@]}"

echo
echo "=== summary ($(( $(date +%s) - START )) s) ==="
printf '%s\n' "${SUMMARY[@]}"
