#!/usr/bin/env bash
# Everything the GPU changes, measured in one prepared run of at most 9 minutes (--budget).
#
#   bench/gpu_check.sh                 # on a machine with an NVIDIA GPU
#   bench/gpu_check.sh --device cpu    # the dry run: the same steps, small, on the CPU
#
# GPU time is scarce (minutes at a time), so this script must work the first time: it sets up
# what it needs, runs each part under its own time limit, goes on when a part fails, and writes
# every figure into one results file, $OUT/results.md (default OUT=bench/results/gpu_check),
# with each part's full output in $OUT/log.txt. The parts, most important first:
#
#   1. the CUDA tests (tests/test_cuda.py: training with and without bf16, resume, grading
#      equivalence on CUDA in and out of the sandbox, FID and Inception features vs the CPU);
#   2. training throughput against the conventional loop (bench/train_throughput.py: vanilla
#      and dcgan32, batch 64 and 256) and the seconds of one MNIST-sized epoch (60,000 images);
#   3. the Frechet distance and the Inception features on the GPU;
#   4. one assignment (a3_dcgan) autograded with the GPU visible to the grader;
#   5. chapters 4 and 5 executed at the `full` size, with their execution times;
#   6. sample quality after the same steps (offline MNIST FID, classifier confidence).
#
# Set-up on a bare machine (the course's device machines): the Python packages the course
# needs beyond PyTorch come as wheels in .whl/ and bubblewrap as a .deb in .deb/ (both made
# here by bench/gpu_wheels.sh and carried along); the checkout is put on the interpreter's path
# with a .pth file, as an editable install would. With a .venv/ (a developer's machine) that
# interpreter is used and nothing is installed.
set -uo pipefail
cd "$(dirname "$0")/.."

DEVICE=cuda
OUT=${OUT:-bench/results/gpu_check}
BUDGET=540  # seconds for everything: a device call may run 10 minutes, and results must come back
while [ $# -gt 0 ]; do
  case "$1" in
    --device) DEVICE=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --budget) BUDGET=$2; shift 2 ;;
    *) echo "usage: $0 [--device cuda|cpu] [--out DIR] [--budget SECONDS]" >&2; exit 2 ;;
  esac
done
mkdir -p "$OUT"
RESULTS=$OUT/results.md
LOG=$OUT/log.txt
: >"$LOG"
export PYTHONUNBUFFERED=1 MPLBACKEND=agg
START=$(date +%s)
DEADLINE=$((START + BUDGET))

if [ -x .venv/bin/python ]; then
  PY=$PWD/.venv/bin/python
  export PATH=$PWD/.venv/bin:$PATH
else
  PY=$(command -v python3)
fi

say() { echo "$*" | tee -a "$RESULTS"; }

# part NAME SECONDS COMMAND...: run under a time limit, keep its output, record the outcome
part() {
  local name=$1 limit=$2; shift 2
  local t0=$(date +%s)
  local left=$((DEADLINE - t0))
  if [ "$left" -lt 20 ]; then
    say ""
    say "### $name: NOT RUN, the ${BUDGET}s budget is spent"
    return 0
  fi
  [ "$limit" -gt "$left" ] && limit=$left
  echo "=== $name: $* (limit ${limit}s)" >>"$LOG"
  timeout --kill-after=10 "$limit" "$@" >>"$LOG.part" 2>&1
  local rc=$?
  cat "$LOG.part" >>"$LOG"
  local took=$(($(date +%s) - t0))
  local verdict=ok
  [ $rc -eq 124 ] || [ $rc -eq 137 ] && verdict="STOPPED at its ${limit}s limit"
  [ $rc -ne 0 ] && [ "$verdict" = ok ] && verdict="FAILED (exit $rc)"
  say ""
  say "### $name: $verdict, ${took}s"
  say ""
  say '```'
  grep -v '^\s*$' "$LOG.part" | tail -n "${TAIL:-25}" | tee -a "$RESULTS" >/dev/null
  say '```'
  rm -f "$LOG.part"
  return 0
}

# ---------------------------------------------------------------- set-up
{
  echo "# GPU check: $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git rev-parse --short HEAD 2>/dev/null || echo '?'), device $DEVICE"
  echo ""
} >"$RESULTS"
if [ ! -x .venv/bin/python ]; then
  if ls .whl/*.whl >/dev/null 2>&1; then
    "$PY" -m pip install -q --no-index --no-deps --no-compile --disable-pip-version-check .whl/*.whl >>"$LOG" 2>&1 \
      || say "set-up: installing the wheels in .whl/ FAILED (see log.txt)"
  fi
  SITE=$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
  echo "$PWD" >"$SITE/gancourse-checkout.pth"
  export PATH=$(dirname "$PY"):$PATH
fi
if ! command -v bwrap >/dev/null && ls .deb/bubblewrap*.deb >/dev/null 2>&1; then
  for deb in .deb/*.deb; do dpkg -x "$deb" / >>"$LOG" 2>&1; done
fi
"$PY" - >>"$RESULTS" 2>&1 <<'EOF'
import os, platform, shutil, torch
print(f"- python {platform.python_version()} at {os.path.realpath(__import__('sys').executable)}")
print(f"- torch {torch.__version__}, {torch.get_num_threads()} CPU threads, {os.cpu_count()} cores")
if torch.cuda.is_available():
    p = torch.cuda.get_device_properties(0)
    print(f"- GPU: {p.name}, {p.total_memory / 2**30:.0f} GiB, bf16: {torch.cuda.is_bf16_supported()}")
else:
    print("- GPU: none (CUDA is not available)")
print(f"- bubblewrap: {shutil.which('bwrap') or 'not installed'}")
try:
    import gancourse, nbgrader, nbclient, ipykernel, mlxtend  # noqa: F401
    print(f"- gancourse from {os.path.dirname(gancourse.__file__)}; nbgrader, nbclient, ipykernel, mlxtend import")
except ImportError as error:
    print(f"- MISSING: {error}")
EOF

if [ "$DEVICE" = cuda ]; then
  TESTS_ENV=()
  THROUGHPUT=(--device cuda --steps 100 --repeats 3 --epoch-images 60000 --no-quality)
  INCEPTION=(--device cuda --num-images 512 --batch-size 128 --repeats 3)
  QUALITY=(--device cuda --no-throughput --quality-steps 600 --quality-seeds 0 1)
  SIZE=full
else  # the dry run: every part, small
  TESTS_ENV=(env GANCOURSE_CUDA_TESTS_ON=cpu)
  THROUGHPUT=(--device cpu --steps 3 --repeats 1 --epoch-images 640 --no-quality)
  INCEPTION=(--device cpu --num-images 16 --batch-size 16 --repeats 1)
  QUALITY=(--device cpu --no-throughput --quality-steps 20 --quality-seeds 0 1)
  SIZE=smoke
fi
SANDBOX=()
"$PY" -c 'from gancourse.grading.sandbox import check_isolation; check_isolation()' >>"$LOG" 2>&1 \
  || { SANDBOX=(--unsafe); say "- the sandbox cannot run here (see log.txt): grading with --unsafe"; }

# ---------------------------------------------------------------- the parts
part "1. CUDA tests" 100 "${TESTS_ENV[@]}" "$PY" -m pytest -q -m cuda tests/test_cuda.py -p no:cacheprovider
TAIL=40 part "2. training throughput and one MNIST-sized epoch" 130 \
  "$PY" bench/train_throughput.py "${THROUGHPUT[@]}" --out "$OUT"
part "3a. Frechet distance" 40 "$PY" bench/frechet_speed.py --device "$DEVICE" --mnist-samples 2000
part "3b. Inception features" 40 "$PY" bench/inception_speed.py "${INCEPTION[@]}"
part "4. autograding a3_dcgan" 100 "$PY" bench/autograde_speed.py --students 2 --assignments a3_dcgan "${SANDBOX[@]}"
for chapter in 04_vanilla_gan 05_dcgan; do
  TAIL=12 part "5. chapter $chapter at the $SIZE size" 100 env GANCOURSE_SIZE=$SIZE "$PY" - "$chapter" "$OUT" <<'EOF'
import sys, time, nbformat
from nbclient import NotebookClient
name, out = sys.argv[1], sys.argv[2]
nb = nbformat.read(f"book/{name}.ipynb", as_version=4)
start = time.perf_counter()
try:
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": "book"}}).execute()
finally:
    print(f"{name}: executed in {time.perf_counter() - start:.1f} s")
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            if output.get("name") == "stdout":
                print(output["text"].rstrip())
EOF
done
TAIL=20 part "6. quality after the same steps" 120 \
  "$PY" bench/train_throughput.py "${QUALITY[@]}" --out "$OUT/quality"

say ""
say "total: $(($(date +%s) - START)) s"
