#!/usr/bin/env bash
# TLS termination on loopback, one flow: a TLS client sends SIZE bytes to a
# relay that decrypts them and passes them to a plain TCP sink, through
#   ferry tls-listen:P tcp:127.0.0.1:SINK --serve        (rustls, ring)
#   socat OPENSSL-LISTEN:P,fork TCP:127.0.0.1:SINK       (OpenSSL)
# in the same run, ROUNDS rounds interleaved so that both see the same
# machine; prints each run, the medians, the throughput ratio and each
# relay's CPU seconds per GB (user + system, children included).
#
#   scripts/tls-relay.sh                 # 5 rounds x 2 GiB
#   ROUNDS=7 SIZE=4G scripts/tls-relay.sh
#
# The client (ferry's own tls:, rustls) and the sink (ferry -k into null:)
# are the same for both relays. Both servers take the client's preference
# among the suites they share, so both agree on the same TLS 1.3 suite; the
# script checks that in the relays' logs and prints it. Needs socat, openssl
# and python3. Builds the release binary unless FERRY points at one. Every
# process it starts is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-5}
SIZE=${SIZE:-2G}
BASE_PORT=${BASE_PORT:-15301}
SINK_PORT=$BASE_PORT
FERRY_PORT=$((BASE_PORT + 1))
SOCAT_PORT=$((BASE_PORT + 2))

for tool in socat openssl python3; do
  command -v "$tool" >/dev/null || { echo "tls-relay: $tool is not installed (apt-get install -y socat openssl python3)" >&2; exit 2; }
done

if [[ -z "${FERRY:-}" ]]; then
  cargo build --release --quiet -p ferry-io-cli
  FERRY="${CARGO_TARGET_DIR:-target}/release/ferry"
fi

work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A CA and a leaf for localhost (webpki refuses a self-signed CA as a leaf).
(
  cd "$work"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj /CN=tls-relay-CA -keyout ca.key -out ca.pem
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -subj /CN=localhost -keyout key.pem -out leaf.csr
  printf 'subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n' >leaf.ext
  openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
    -extfile leaf.ext -out cert.pem
) >/dev/null 2>&1

"$FERRY" -q "tcp-listen:127.0.0.1:$SINK_PORT" null: --keep-listening &
pids+=($!)
"$FERRY" -vv "tls-listen:127.0.0.1:$FERRY_PORT" "tcp:127.0.0.1:$SINK_PORT" --serve \
  --tls-cert "$work/cert.pem" --tls-key "$work/key.pem" 2>"$work/ferry.log" &
ferry_pid=$!
pids+=($ferry_pid)
socat -d -d "OPENSSL-LISTEN:$SOCAT_PORT,bind=127.0.0.1,fork,reuseaddr,cert=$work/cert.pem,key=$work/key.pem,verify=0" \
  "TCP:127.0.0.1:$SINK_PORT" 2>"$work/socat.log" &
socat_pid=$!
pids+=($socat_pid)

for _ in $(seq 100); do
  listening=$(ss -Hltn 2>/dev/null | awk '{print $4}' | grep -cE ":($SINK_PORT|$FERRY_PORT|$SOCAT_PORT)\$" || true)
  [[ "$listening" -ge 3 ]] && break
  sleep 0.1
done

# CPU seconds a process and its reaped children used so far.
cpu() {
  python3 - "$1" <<'PY'
import os, sys
fields = open(f"/proc/{sys.argv[1]}/stat").read().rsplit(")", 1)[1].split()
print(sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK"))
PY
}

# Sends SIZE through the relay on port $1; prints bytes per second and the
# relay's CPU seconds for it.
measure() {
  local port=$1 pid=$2 before after report
  before=$(cpu "$pid")
  report=$("$FERRY" zero: "tls:localhost:$port" -n "$SIZE" --tls-ca "$work/ca.pem" --json 2>&1 >/dev/null)
  # socat's forked child is reaped (and its CPU counted) once it has exited.
  for _ in $(seq 100); do
    pgrep -P "$pid" >/dev/null || break
    sleep 0.02
  done
  after=$(cpu "$pid")
  python3 -c 'import json,sys; r=json.loads(sys.argv[1]); assert r["error"] is None, r["error"]; print(r["bytes"] / r["seconds"], r["bytes"], float(sys.argv[3]) - float(sys.argv[2]))' \
    "$report" "$before" "$after"
}

declare -A rates=([ferry]="" [socat]="") cpus=([ferry]="" [socat]="")
for round in $(seq "$ROUNDS"); do
  for name in ferry socat; do
    case $name in
      ferry) read -r rate bytes seconds < <(measure "$FERRY_PORT" "$ferry_pid") ;;
      socat) read -r rate bytes seconds < <(measure "$SOCAT_PORT" "$socat_pid") ;;
    esac
    per_gb=$(python3 -c "print($seconds / ($bytes / 1e9))")
    rates[$name]+="$rate "
    cpus[$name]+="$per_gb "
    printf 'round %d %-5s %6.2f GB/s  %5.2f CPU s/GB\n' "$round" "$name" \
      "$(python3 -c "print($rate / 1e9)")" "$per_gb"
  done
done

ferry_suite=$(grep -o 'suite=Some([A-Z0-9_]*)' "$work/ferry.log" | sort -u | tr '\n' ' ')
socat_suite=$(grep -o 'SSL connection using [A-Z0-9_-]*' "$work/socat.log" | sort -u | tr '\n' ' ')
echo "suites: ferry ${ferry_suite:-?}; socat ${socat_suite:-?}"

python3 - "${rates[ferry]}" "${rates[socat]}" "${cpus[ferry]}" "${cpus[socat]}" <<'PY'
import statistics, sys
ferry, socat, ferry_cpu, socat_cpu = (statistics.median(map(float, arg.split())) for arg in sys.argv[1:])
print(f"median ferry {ferry / 1e9:.2f} GB/s ({ferry_cpu:.2f} CPU s/GB), "
      f"socat {socat / 1e9:.2f} GB/s ({socat_cpu:.2f} CPU s/GB)")
print(f"ferry / socat = {ferry / socat:.2f}x throughput, {ferry_cpu / socat_cpu:.2f}x CPU per GB")
PY
