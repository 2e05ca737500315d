#!/usr/bin/env bash
# Pipe throughput of `ferry - -` against `cat` and `pv` in the same run:
# SIZE bytes (default 4G) from a `dd` producer, through the middle program,
# into a `dd` consumer, all three joined by pipes. RUNS rounds (default 5),
# each round running every middle once, in turn, so that all see the same
# machine; then the median seconds of each and the ratios of throughput
# (above 1.0 means ferry was faster).
#
#   scripts/pipe-throughput.sh              # 5 rounds x 4 GiB
#   RUNS=9 SIZE=1G scripts/pipe-throughput.sh
#
# Needs pv (apt-get install -y pv) and python3. Builds the release binary
# unless FERRY points at one.
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-5}
SIZE=${SIZE:-4G}

for tool in pv python3 dd; do
  command -v "$tool" >/dev/null || { echo "pipe-throughput: $tool is not installed (apt-get install -y pv)" >&2; exit 2; }
done

if [[ -z "${FERRY:-}" ]]; then
  cargo build --release --quiet -p ferry-io-cli
  FERRY="${CARGO_TARGET_DIR:-target}/release/ferry"
fi

# dd counts in MiB blocks; SIZE takes ferry's suffixes.
mib=$(python3 -c '
import sys
text = sys.argv[1]
units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
n = int(text[:-1]) * units[text[-1]] if text[-1] in units else int(text)
print(max(1, n >> 20))' "$SIZE")

middle() {
  case "$1" in
    cat) cat ;;
    pv) pv -q ;;
    ferry) "$FERRY" -q - - ;;
  esac
}

# One timed pass: seconds for the whole pipeline.
pass() {
  local start end
  start=$(date +%s.%N)
  dd if=/dev/zero bs=1M count="$mib" status=none | middle "$1" | dd of=/dev/null bs=1M status=none
  end=$(date +%s.%N)
  python3 -c "print(f'{$end - $start:.3f}')"
}

# The bytes must arrive whole: count them once through ferry.
got=$(dd if=/dev/zero bs=1M count=16 status=none | "$FERRY" -q - - | wc -c)
[[ "$got" == $((16 << 20)) ]] || { echo "pipe-throughput: ferry passed $got bytes of $((16 << 20))" >&2; exit 1; }

declare -A times
for round in $(seq 1 "$RUNS"); do
  for name in cat pv ferry; do
    seconds=$(pass "$name")
    times[$name]+="$seconds "
    echo "round $round: $name ${seconds} s" >&2
  done
done

python3 - "$mib" "${times[cat]}" "${times[pv]}" "${times[ferry]}" <<'PY'
import statistics, sys
mib = int(sys.argv[1])
names = ["cat", "pv", "ferry"]
medians = {n: statistics.median(float(t) for t in s.split()) for n, s in zip(names, sys.argv[2:])}
for n in names:
    print(f"{n:6} median {medians[n]:.3f} s  {mib / 1024 / medians[n]:.2f} GiB/s")
print(f"ferry / cat: {medians['cat'] / medians['ferry']:.2f}x   ferry / pv: {medians['pv'] / medians['ferry']:.2f}x")
PY
