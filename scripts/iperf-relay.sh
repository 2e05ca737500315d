#!/usr/bin/env bash
# Throughput on loopback of iperf3 direct, through `ferry --serve` (the
# library's default buffers), through the same with `--access-log` and
# `--metrics` on (observed), through the same with a fixed 1 MiB buffer
# (`-b 1M`, the command's own size before it took the library's default),
# through `ferry --serve --zero-copy always` (splice) and through
# `socat ... fork`, in the same run: RUNS runs of DURATION seconds each,
# interleaved so that all see the same machine; medians, and ratios taken
# run by run. It also prints the CPU each path used (iperf3's two ends as
# iperf3 reports them, plus the relay's process and its children) in cores
# busy and core-seconds per GB: with two cores, a path that keeps them
# both busy is bound by the machine, not by the relay's buffers.
#
#   scripts/iperf-relay.sh            # 3 runs x 5 s
#   RUNS=5 DURATION=10 scripts/iperf-relay.sh
#
# Needs iperf3, socat and python3 (apt-get install -y iperf3 socat). Builds
# the release binary unless FERRY points at one. Every process it starts is
# stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-3}
DURATION=${DURATION:-5}
BASE_PORT=${BASE_PORT:-15201}
IPERF_PORT=$BASE_PORT
FERRY_PORT=$((BASE_PORT + 1))
SOCAT_PORT=$((BASE_PORT + 2))
SPLICE_PORT=$((BASE_PORT + 3))
OBSERVED_PORT=$((BASE_PORT + 4))
METRICS_PORT=$((BASE_PORT + 5))
FIXED_PORT=$((BASE_PORT + 6))

for tool in iperf3 socat python3; do
  command -v "$tool" >/dev/null || { echo "iperf-relay: $tool is not installed (apt-get install -y iperf3 socat)" >&2; exit 2; }
done

if [[ -z "${FERRY:-}" ]]; then
  cargo build --release --quiet -p ferry-io-cli
  FERRY="${CARGO_TARGET_DIR:-target}/release/ferry"
fi

pids=()
declare -A relay_pid=()
ACCESS_LOG=$(mktemp)
REPORT=$(mktemp)
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -f "$ACCESS_LOG" "$REPORT"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

iperf3 -s -B 127.0.0.1 -p "$IPERF_PORT" >/dev/null 2>&1 &
pids+=($!)
"$FERRY" -q "tcp-listen:127.0.0.1:$FERRY_PORT" "tcp:127.0.0.1:$IPERF_PORT" --serve &
pids+=($!) relay_pid[ferry]=$!
"$FERRY" -q "tcp-listen:127.0.0.1:$SPLICE_PORT" "tcp:127.0.0.1:$IPERF_PORT" --serve --zero-copy always &
pids+=($!) relay_pid[splice]=$!
"$FERRY" -q "tcp-listen:127.0.0.1:$OBSERVED_PORT" "tcp:127.0.0.1:$IPERF_PORT" --serve \
  --access-log "$ACCESS_LOG" --metrics "127.0.0.1:$METRICS_PORT" &
pids+=($!) relay_pid[observed]=$!
"$FERRY" -q "tcp-listen:127.0.0.1:$FIXED_PORT" "tcp:127.0.0.1:$IPERF_PORT" --serve -b 1M &
pids+=($!) relay_pid[fixed]=$!
# socat reports each reset at the end of an iperf3 test; that is not news.
socat "TCP-LISTEN:$SOCAT_PORT,bind=127.0.0.1,fork,reuseaddr" "TCP:127.0.0.1:$IPERF_PORT" 2>/dev/null &
pids+=($!) relay_pid[socat]=$!

# Wait until all listen (without connecting: ferry's one accept is not
# wasted, and iperf3 sees no stray connection).
for _ in $(seq 100); do
  listening=$(ss -Hltn 2>/dev/null | awk '{print $4}' | grep -cE ":($IPERF_PORT|$FERRY_PORT|$SOCAT_PORT|$SPLICE_PORT|$OBSERVED_PORT|$FIXED_PORT)\$" || true)
  [[ "$listening" -ge 6 ]] && break
  sleep 0.1
done

TICKS=$(getconf CLK_TCK)
# CPU seconds process $1 and the children it waited for have used (0 for none).
cpu_seconds() {
  [[ -n "$1" ]] || { echo 0; return; }
  awk -v hz="$TICKS" '{print ($14 + $15 + $16 + $17) / hz}' "/proc/$1/stat"
}

# Prints the receiver's throughput in bytes per second, and the CPU seconds
# iperf3's two ends and relay process $2 (if any) used meanwhile.
measure() {
  local before after
  before=$(cpu_seconds "$2")
  iperf3 -c 127.0.0.1 -p "$1" -t "$DURATION" -J >"$REPORT"
  # socat's child for the connection counts once socat has waited for it.
  sleep 0.2
  after=$(cpu_seconds "$2")
  python3 - "$REPORT" "$DURATION" "$before" "$after" <<'PY'
import json, sys
end = json.load(open(sys.argv[1]))["end"]
duration, before, after = map(float, sys.argv[2:])
cpu = end["cpu_utilization_percent"]
ends = (cpu["host_total"] + cpu["remote_total"]) / 100 * duration
print(end["sum_received"]["bits_per_second"] / 8, ends + after - before)
PY
}

declare -A results=([direct]="" [ferry]="" [observed]="" [fixed]="" [splice]="" [socat]="")
declare -A cpu=([direct]="" [ferry]="" [observed]="" [fixed]="" [splice]="" [socat]="")
for run in $(seq "$RUNS"); do
  for name in direct ferry observed fixed splice socat; do
    case $name in
      direct) port=$IPERF_PORT ;;
      ferry) port=$FERRY_PORT ;;
      observed) port=$OBSERVED_PORT ;;
      fixed) port=$FIXED_PORT ;;
      splice) port=$SPLICE_PORT ;;
      socat) port=$SOCAT_PORT ;;
    esac
    read -r rate seconds < <(measure "$port" "${relay_pid[$name]:-}")
    results[$name]+="$rate "
    cpu[$name]+="$seconds "
    printf 'run %d %-8s %6.2f GB/s  %4.2f cores busy\n' "$run" "$name" \
      "$(python3 -c "print($rate / 1e9)")" "$(python3 -c "print($seconds / $DURATION)")"
  done
done

echo "access log lines: $(wc -l <"$ACCESS_LOG") (one per iperf3 connection)"
python3 - "$DURATION" "${results[direct]}" "${results[ferry]}" "${results[observed]}" "${results[fixed]}" "${results[splice]}" "${results[socat]}" \
  "${cpu[direct]}" "${cpu[ferry]}" "${cpu[observed]}" "${cpu[fixed]}" "${cpu[splice]}" "${cpu[socat]}" <<'PY'
import statistics, sys
duration = float(sys.argv[1])
runs = [list(map(float, arg.split())) for arg in sys.argv[2:]]
direct, ferry, observed, fixed, splice, socat = runs[:6]
median = statistics.median
# Ratios run by run: consecutive measurements see the same machine.
def ratio(a, b):
    return median(x / y for x, y in zip(a, b))
print(f"median direct {median(direct) / 1e9:.2f} GB/s, ferry --serve {median(ferry) / 1e9:.2f} GB/s, "
      f"observed {median(observed) / 1e9:.2f} GB/s, -b 1M {median(fixed) / 1e9:.2f} GB/s, "
      f"ferry --zero-copy always {median(splice) / 1e9:.2f} GB/s, socat fork {median(socat) / 1e9:.2f} GB/s")
print(f"ferry / direct = {ratio(ferry, direct):.2f}x, ferry / socat = {ratio(ferry, socat):.2f}x, "
      f"ferry / -b 1M = {ratio(ferry, fixed):.2f}x, observed / ferry = {ratio(observed, ferry):.2f}x, "
      f"splice / direct = {ratio(splice, direct):.2f}x, splice / socat = {ratio(splice, socat):.2f}x")
names = ["direct", "ferry", "observed", "-b 1M", "splice", "socat"]
print("CPU, medians: " + ", ".join(
    f"{name} {median(c) / duration:.2f} cores, {median(s / (r * duration / 1e9) for s, r in zip(c, rates)):.2f} core-s/GB"
    for name, rates, c in zip(names, runs[:6], runs[6:])))
PY
