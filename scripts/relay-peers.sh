#!/usr/bin/env bash
# ferry --serve against the relays operators run, on loopback, in the same
# run: direct (no relay), `ferry --serve` (release binary, default flags),
# HAProxy (`mode tcp`, `option splice-auto`, `nbthread 1`) and nginx's
# `stream` module (one worker), in front of an iperf3 server and an nginx
# HTTP server with a 1 KiB file. Five measures:
#
#   iperf1, iperf4, iperf16   iperf3 with 1, 4 and 16 parallel flows (Gbit/s)
#   cps                       new connections per second: wrk, 16 connections,
#                             HTTP/1.1 with `Connection: close`, 1 KiB answers
#   rps                       requests per second on one kept-alive
#                             connection (wrk -c1 -t1): latency
#
# Round by round, each measure runs every contender in turn (the order
# rotates each round), so that the ratios compare runs a few seconds apart.
# Prints every run, then per measure the medians, the worst round, and the
# ratios ferry/HAProxy, ferry/nginx and ferry/direct taken round by round
# (median and worst), with the relay's CPU in cores busy (of the machine's).
#
#   scripts/relay-peers.sh                          # 3 rounds x 5 s per run
#   ROUNDS=5 DURATION=10 scripts/relay-peers.sh
#   MEASURES="cps rps" scripts/relay-peers.sh      # a subset
#   FERRY_B=/path/to/other/ferry scripts/relay-peers.sh   # and an A/B contender
#
# Settings (environment): ROUNDS (3), DURATION seconds per run (5),
# MEASURES (all five), BASE_PORT (16200; the script uses BASE_PORT to
# BASE_PORT+41 on 127.0.0.1), FERRY (the binary; built with cargo in release
# when unset), FERRY_FLAGS (extra flags for ferry: none by default, the run
# is of the defaults), FERRY_B and FERRY_B_FLAGS (a second ferry, shown as
# ferry-b), CONTENDERS (default "direct ferry haproxy nginx").
#
# The peers' configurations are written into a temporary directory, printed
# with KEEP_CONFIGS=1, and removed on exit; they are the ones README shows.
# Needs iperf3, wrk, haproxy, nginx and python3 (apt-get install -y iperf3 wrk
# haproxy nginx libnginx-mod-stream python3). Every process it starts is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-5}
MEASURES=${MEASURES:-"iperf1 iperf4 iperf16 cps rps"}
BASE_PORT=${BASE_PORT:-16200}
FERRY_FLAGS=${FERRY_FLAGS:-}
FERRY_B=${FERRY_B:-}
FERRY_B_FLAGS=${FERRY_B_FLAGS:-}
CONTENDERS=${CONTENDERS:-"direct ferry haproxy nginx"}
[[ -n "$FERRY_B" ]] && CONTENDERS="$CONTENDERS ferry-b"

IPERF_PORT=$BASE_PORT
HTTP_PORT=$((BASE_PORT + 1))
declare -A front=(
  [ferry]=$((BASE_PORT + 10)) [haproxy]=$((BASE_PORT + 20))
  [nginx]=$((BASE_PORT + 30)) [ferry-b]=$((BASE_PORT + 40))
)

fail() { echo "relay-peers: $*" >&2; exit 2; }
for tool in iperf3 wrk haproxy nginx python3 ss; do
  command -v "$tool" >/dev/null || fail "$tool is not installed (apt-get install -y iperf3 wrk haproxy nginx libnginx-mod-stream python3 iproute2)"
done
for measure in $MEASURES; do
  case $measure in iperf1 | iperf4 | iperf16 | cps | rps) ;; *) fail "unknown measure \"$measure\": expected iperf1, iperf4, iperf16, cps or rps" ;; esac
done
[[ "$ROUNDS" =~ ^[1-9][0-9]*$ ]] || fail "ROUNDS \"$ROUNDS\": expected a whole number of rounds, at least 1"
[[ "$DURATION" =~ ^[1-9][0-9]*$ ]] || fail "DURATION \"$DURATION\": expected whole seconds, at least 1"

if [[ -z "${FERRY:-}" ]]; then
  cargo build --release --quiet -p ferry-io-cli
  FERRY="${CARGO_TARGET_DIR:-target}/release/ferry"
fi
[[ -x "$FERRY" ]] || fail "FERRY \"$FERRY\" is not an executable"
[[ -z "$FERRY_B" || -x "$FERRY_B" ]] || fail "FERRY_B \"$FERRY_B\" is not an executable"

ports=("$IPERF_PORT" "$HTTP_PORT")
for name in ferry haproxy nginx ferry-b; do ports+=("${front[$name]}" "$((front[$name] + 1))"); done
for port in "${ports[@]}"; do
  if ss -Htan "sport = :$port" 2>/dev/null | grep -q .; then
    fail "port $port on this machine is in use: set BASE_PORT to a free range of 42 ports"
  fi
done

work=$(mktemp -d)
chmod 755 "$work" # nginx's workers run as an unprivileged user and read the file
pids=()
declare -A relay_pid=()
cleanup() {
  local pid
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The backends' and the peers' configurations.
# Debian's nginx has the stream module as a dynamic module.
STREAM_MODULE=${STREAM_MODULE:-/usr/lib/nginx/modules/ngx_stream_module.so}
[[ -f "$STREAM_MODULE" ]] || fail "nginx's stream module is not at $STREAM_MODULE (apt-get install -y libnginx-mod-stream, or set STREAM_MODULE)"
mkdir -p "$work/www" "$work/backend" "$work/stream"
head -c 1024 /dev/zero | tr '\0' 'x' >"$work/www/1k"
# What both nginx configurations say first: one worker, in the
# foreground, its pid and log under directory $1.
nginx_main() {
  cat <<EOF
worker_processes 1;
daemon off;
pid $1/nginx.pid;
error_log $1/error.log warn;
events { worker_connections 4096; }
EOF
}
{
  echo "# The HTTP backend: one worker, a 1 KiB file, no log."
  nginx_main "$work/backend"
  cat <<EOF
http {
    access_log off;
    keepalive_requests 100000000;
    server {
        listen 127.0.0.1:$HTTP_PORT backlog=4096;
        root $work/www;
    }
}
EOF
} >"$work/backend.conf"
{
  echo "# nginx 1.22 stream module, one worker, defaults otherwise."
  echo "load_module $STREAM_MODULE;"
  nginx_main "$work/stream"
  cat <<EOF
stream {
    server { listen 127.0.0.1:${front[nginx]}; proxy_pass 127.0.0.1:$IPERF_PORT; }
    server { listen 127.0.0.1:$((front[nginx] + 1)); proxy_pass 127.0.0.1:$HTTP_PORT; }
}
EOF
} >"$work/nginx-stream.conf"
cat >"$work/haproxy.cfg" <<EOF
# HAProxy 2.6, mode tcp, splice-auto, one thread.
global
    nbthread 1
    maxconn 4096
defaults
    mode tcp
    option splice-auto
    timeout connect 5s
    timeout client 60s
    timeout server 60s
listen iperf
    bind 127.0.0.1:${front[haproxy]}
    server backend 127.0.0.1:$IPERF_PORT
listen http
    bind 127.0.0.1:$((front[haproxy] + 1))
    server backend 127.0.0.1:$HTTP_PORT
EOF
if [[ -n "${KEEP_CONFIGS:-}" ]]; then
  for file in backend.conf nginx-stream.conf haproxy.cfg; do
    echo "--- $file"
    cat "$work/$file"
  done
fi

# Starts a server in the background and remembers its pid.
start() {
  local name=$1
  shift
  "$@" >"$work/$name.out" 2>&1 &
  pids+=($!)
  relay_pid[$name]=$!
}
start iperf3 iperf3 -s -B 127.0.0.1 -p "$IPERF_PORT"
start backend nginx -p "$work/backend" -c "$work/backend.conf" -e "$work/backend/error.log"
wanted=("$IPERF_PORT" "$HTTP_PORT")
for name in $CONTENDERS; do
  port=${front[$name]:-}
  case $name in
    direct) continue ;;
    ferry)
      # shellcheck disable=SC2086 # FERRY_FLAGS is a list of flags
      start ferry "$FERRY" "tcp-listen:127.0.0.1:$port" "tcp:127.0.0.1:$IPERF_PORT" --serve $FERRY_FLAGS
      start ferry-http "$FERRY" "tcp-listen:127.0.0.1:$((port + 1))" "tcp:127.0.0.1:$HTTP_PORT" --serve $FERRY_FLAGS
      ;;
    ferry-b)
      # shellcheck disable=SC2086
      start ferry-b "$FERRY_B" "tcp-listen:127.0.0.1:$port" "tcp:127.0.0.1:$IPERF_PORT" --serve $FERRY_B_FLAGS
      start ferry-b-http "$FERRY_B" "tcp-listen:127.0.0.1:$((port + 1))" "tcp:127.0.0.1:$HTTP_PORT" --serve $FERRY_B_FLAGS
      ;;
    haproxy) start haproxy haproxy -db -f "$work/haproxy.cfg" ;;
    nginx) start nginx nginx -p "$work/stream" -c "$work/nginx-stream.conf" -e "$work/stream/error.log" ;;
    *) fail "unknown contender \"$name\": expected direct, ferry, haproxy, nginx or ferry-b" ;;
  esac
  wanted+=("$port" "$((port + 1))")
done

# Waits until everything listens (without connecting to it).
for _ in $(seq 100); do
  missing=0
  for port in "${wanted[@]}"; do
    ss -Hltn "sport = :$port" | grep -q . || missing=1
  done
  [[ $missing == 0 ]] && break
  sleep 0.1
done
[[ $missing == 0 ]] || {
  for name in "${!relay_pid[@]}"; do sed "s/^/$name: /" "$work/$name.out" >&2; done
  fail "not everything listens after 10 s (logs above)"
}

TICKS=$(getconf CLK_TCK)
# CPU seconds used so far by process $1 and its children (nginx's worker).
cpu_seconds() {
  local pid total=0 children
  [[ -n "$1" ]] || { echo 0; return; }
  children=$(cat /proc/"$1"/task/*/children 2>/dev/null || true)
  for pid in "$1" $children; do
    total=$(awk -v hz="$TICKS" -v before="$total" '{print before + ($14 + $15) / hz}' "/proc/$pid/stat" 2>/dev/null || echo "$total")
  done
  echo "$total"
}

# The relay processes behind contender $1 (ferry runs one per backend).
relay_pids() {
  case $1 in
    direct) ;;
    ferry | ferry-b) echo "${relay_pid[$1]} ${relay_pid[$1-http]}" ;;
    *) echo "${relay_pid[$1]}" ;;
  esac
}

# The address contender $1 serves backend $2 (iperf or http) on.
port_of() {
  local name=$1 backend=$2
  if [[ $name == direct ]]; then
    [[ $backend == iperf ]] && echo "$IPERF_PORT" || echo "$HTTP_PORT"
  else
    [[ $backend == iperf ]] && echo "${front[$name]}" || echo "$((front[$name] + 1))"
  fi
}

# Runs measure $1 against contender $2; prints "value errors".
run_load() {
  local measure=$1 name=$2 out="$work/load.out"
  case $measure in
    iperf*)
      iperf3 -c 127.0.0.1 -p "$(port_of "$name" iperf)" -t "$DURATION" -P "${measure#iperf}" -J >"$out" 2>&1 || true
      python3 - "$out" <<'PY'
import json, sys
try:
    end = json.load(open(sys.argv[1]))["end"]
    print(end["sum_received"]["bits_per_second"] / 1e9, 0)
except (KeyError, ValueError):
    print("nan", 1)
PY
      ;;
    cps | rps)
      local load=(-t2 -c16 -H "Connection: close")
      [[ $measure == rps ]] && load=(-t1 -c1)
      wrk "${load[@]}" -d "${DURATION}s" "http://127.0.0.1:$(port_of "$name" http)/1k" >"$out" 2>&1 || true
      python3 - "$out" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
rate = re.search(r"Requests/sec:\s*([0-9.]+)", text)
errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", text))
bad = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
errors += int(bad.group(1)) if bad else 0
print(float(rate.group(1)) / 1000 if rate else "nan", errors)
PY
      ;;
  esac
}

results="$work/results"
: >"$results"
declare -A units=([iperf]="Gbit/s" [cps]="k conn/s" [rps]="k req/s")
started=$(date -u +%Y-%m-%dT%H:%M:%SZ)
build=$(git describe --always --dirty 2>/dev/null || echo unknown)
echo "relay-peers: $started, build $build ($("$FERRY" -V)), $(nproc) cores, $(uname -r)"
echo "load at start:$(uptime | sed 's/.*load average://')"
echo "$ROUNDS rounds x $DURATION s; ferry flags: ${FERRY_FLAGS:-(defaults)}${FERRY_B:+; ferry-b $FERRY_B ${FERRY_B_FLAGS:-(defaults)}}"
echo "$(haproxy -v | head -1 | cut -d' ' -f1-3); $(nginx -v 2>&1 | cut -d' ' -f3); $(iperf3 --version | head -1 | cut -d' ' -f1-2); $(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2)"
read -ra order <<<"$CONTENDERS"
for round in $(seq "$ROUNDS"); do
  for measure in $MEASURES; do
    # Rotate the order each round, so no contender always runs first.
    shift_by=$(((round - 1) % ${#order[@]}))
    turn=("${order[@]:shift_by}" "${order[@]:0:shift_by}")
    for name in "${turn[@]}"; do
      for pid in $(relay_pids "$name"); do
        kill -0 "$pid" 2>/dev/null || { sed "s/^/$name: /" "$work/$name.out" >&2; fail "$name (pid $pid) exited during the run"; }
      done
      read -ra relays <<<"$(relay_pids "$name")"
      before=0
      for pid in "${relays[@]}"; do before=$(python3 -c "print($before + $(cpu_seconds "$pid"))"); done
      began=$(date +%s.%N)
      read -r value errors < <(run_load "$measure" "$name")
      ended=$(date +%s.%N)
      after=0
      for pid in "${relays[@]}"; do after=$(python3 -c "print($after + $(cpu_seconds "$pid"))"); done
      cores=$(python3 -c "print(f'{($after - $before) / ($ended - $began):.2f}')")
      echo "$round $measure $name $value $errors $cores" >>"$results"
      unit=${units[${measure%%[0-9]*}]}
      printf 'round %d %-8s %-8s %8.2f %-9s relay %s cores%s\n' "$round" "$measure" "$name" "$value" "$unit" "$cores" \
        "$([[ $errors != 0 ]] && echo ", $errors errors" || true)"
      sleep 0.5
    done
  done
done
echo "load at end:$(uptime | sed 's/.*load average://')"

python3 - "$results" "$MEASURES" "$CONTENDERS" <<'PY'
import math, statistics, sys
from collections import defaultdict

path, measures, contenders = sys.argv[1], sys.argv[2].split(), sys.argv[3].split()
runs = defaultdict(dict)  # (measure, name) -> round -> (value, errors, cores)
for line in open(path):
    round_, measure, name, value, errors, cores = line.split()
    runs[(measure, name)][int(round_)] = (float(value), int(errors), float(cores))
units = {"iperf1": "Gbit/s", "iperf4": "Gbit/s", "iperf16": "Gbit/s", "cps": "k conn/s", "rps": "k req/s"}
targets = {"iperf1": (1.3, 0.75), "iperf4": (1.3, None), "iperf16": (1.3, None), "cps": (1.15, None), "rps": (1.05, None)}
peers = [name for name in contenders if name != "direct"]

def values(measure, name):
    return [v for v, _, _ in runs[(measure, name)].values() if not math.isnan(v)]

def ratios(measure, a, b):
    mine, theirs = runs[(measure, a)], runs[(measure, b)]
    return [mine[r][0] / theirs[r][0] for r in mine if r in theirs and theirs[r][0] > 0 and not math.isnan(mine[r][0])]

def cell(xs, fmt="{:.2f}"):
    if not xs:
        return "–"
    return f"{fmt.format(statistics.median(xs))} (worst {fmt.format(min(xs))})"

print()
print("Medians over the rounds (worst round); relay CPU in cores busy, median.")
print()
print("| measure | unit | " + " | ".join(contenders) + " |")
print("|---|---|" + "---:|" * len(contenders))
for measure in measures:
    row = [cell(values(measure, name)) for name in contenders]
    print(f"| {measure} | {units[measure]} | " + " | ".join(row) + " |")
print()
print("| measure | " + " | ".join(f"{name} CPU" for name in peers) + " | errors |")
print("|---|" + "---:|" * (len(peers) + 1))
for measure in measures:
    cpu = [f"{statistics.median([c for _, _, c in runs[(measure, n)].values()]):.2f}" if runs[(measure, n)] else "–" for n in peers]
    errors = sum(e for n in contenders for _, e, _ in runs[(measure, n)].values())
    print(f"| {measure} | " + " | ".join(cpu) + f" | {errors} |")
print()
for ferry in [name for name in contenders if name.startswith("ferry")]:
    others = [name for name in ("haproxy", "nginx", "direct", "ferry") if name in contenders and name != ferry]
    print(f"Ratios {ferry} / other, round by round: median (worst round); target, and whether the median meets it.")
    print()
    print("| measure | " + " | ".join(f"{ferry} / {o}" for o in others) + " | target |")
    print("|---|" + "---:|" * (len(others) + 1))
    for measure in measures:
        row, met = [], True
        peer_target, direct_target = targets[measure]
        wants = []
        for other in others:
            xs = ratios(measure, ferry, other)
            row.append(cell(xs, "{:.2f}×"))
            target = peer_target if other in ("haproxy", "nginx") else direct_target if other == "direct" else None
            if target is not None and xs:
                met = met and statistics.median(xs) >= target
                wants.append(f"{other} {target}×")
        verdict = ("met" if met else "NOT met") if wants else ""
        print(f"| {measure} | " + " | ".join(row) + f" | ≥ {', '.join(wants)}: {verdict} |")
    print()
PY
