#!/usr/bin/env bash
# Benchmark of the telemetry agent against a local Mosquitto over TLS (see issue "telemetry that is never
# silently lost"). Usage: scripts/bench-agent.sh BIN_DIR   (BIN_DIR holds release builds of fleet-agent).
#
# Prints one line per figure: name<TAB>value<TAB>unit<TAB>peer<TAB>peer_value<TAB>ratio
#   agent_qos1_rate     records/s through the durable buffer (fleet-agent send -> agent socket -> SQLite
#                       commit -> broker, QoS 1, every record deleted only on its PUBACK) beside
#                       mosquitto_pub -l sending the same number of QoS 1 messages with the same
#                       certificates (50k lines per run at most: mosquitto_pub -l silently loses messages
#                       past that, see DESIGN.md).
#   agent_qos1_rate_power   the same with "durability": "power" (each group commit fsynced).
#   drain_100k          seconds for a started agent to deliver a 100,000-record backlog.
#   rss_idle_kb, rss_load_kb, rss_backlog_1m_kb   the agent's resident memory: connected and idle, peak
#                       while delivering, and holding a 1,000,000-record backlog on disk.
#   anon_idle_kb, anon_backlog_1m_kb   the private (anonymous) part of it, idle and holding the backlog.
set -euo pipefail
BIN=$(cd "${1:?usage: bench-agent.sh BIN_DIR}" && pwd)
AGENT="$BIN/fleet-agent"
[ -x "$AGENT" ] || { echo "bench-agent: no fleet-agent in $BIN" >&2; exit 1; }
N=${BENCH_RECORDS:-100000}
BACKLOG=${BENCH_BACKLOG:-1000000}
WORK=$(mktemp -d /tmp/fleet-bench-agent.XXXXXX)
BROKER_PID=""
AGENT_PID=""
cleanup() {
    [ -n "$AGENT_PID" ] && kill "$AGENT_PID" 2>/dev/null || true
    [ -n "$BROKER_PID" ] && kill "$BROKER_PID" 2>/dev/null || true
    wait 2>/dev/null || true
    [ -n "${BENCH_DEBUG:-}" ] && tail -5 "$WORK/agent.log" >&2
    rm -rf "$WORK"
}
trap cleanup EXIT
cd "$WORK"

# --- A throwaway PKI made with the openssl command line -------------------------------------------------
cat > ext.cnf <<'CNF'
[req]
distinguished_name = dn
[dn]
[ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[server]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1,DNS:localhost
[client]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = clientAuth
subjectAltName = URI:urn:fleet:device:bench-dev
CNF
key() { openssl ecparam -name prime256v1 -genkey -noout -out "$1" 2>/dev/null; }
key root.key
openssl req -x509 -new -key root.key -subj "/CN=Bench Root" -days 2 -extensions ca -config ext.cnf -out root.pem
key issuing.key
openssl req -new -key issuing.key -subj "/CN=Bench Issuing" -out issuing.csr
openssl x509 -req -in issuing.csr -CA root.pem -CAkey root.key -CAcreateserial -days 2 -extfile ext.cnf \
    -extensions ca -out issuing.pem 2>/dev/null
issue() {
    key "$1.key"
    openssl req -new -key "$1.key" -subj "/CN=$2" -out "$1.csr"
    openssl x509 -req -in "$1.csr" -CA issuing.pem -CAkey issuing.key -CAcreateserial -days 2 -extfile ext.cnf \
        -extensions "$3" -out "$1.pem" 2>/dev/null
    cat "$1.pem" issuing.pem > "$1-full.pem"
}
issue broker localhost server
issue device bench-dev client

# --- Broker ---------------------------------------------------------------------------------------------
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > mosquitto.conf <<CONF
listener $PORT 127.0.0.1
cafile $WORK/root.pem
certfile $WORK/broker-full.pem
keyfile $WORK/broker.key
require_certificate true
use_identity_as_username true
use_username_as_clientid true
tls_version tlsv1.2
persistence false
max_queued_messages 0
user root
log_dest none
CONF
start_broker() {
    mosquitto -c mosquitto.conf >/dev/null 2>&1 &
    BROKER_PID=$!
    for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/$PORT) 2>/dev/null && return 0; sleep 0.05; done
    echo "bench-agent: mosquitto did not start" >&2; exit 1
}
stop_broker() { kill "$BROKER_PID"; wait "$BROKER_PID" 2>/dev/null || true; BROKER_PID=""; }
start_broker

now() { date +%s.%N; }
lines() { python3 -c "import sys
for i in range($1, $2): sys.stdout.write('{\"stream\":\"host\",\"n\":%d,\"cpu\":0.25,\"mem\":123456}\n' % i)"; }
lines 0 "$N" > records.txt

# --- Peer: mosquitto_pub -l at QoS 1 with the same certificate, 50k lines per run -----------------------
split -l 50000 records.txt chunk.
start=$(now)
for chunk in chunk.*; do
    mosquitto_pub -h 127.0.0.1 -p "$PORT" -V mqttv5 --cafile root.pem --cert device-full.pem --key device.key \
        -q 1 -t fleet/bench-dev/telemetry/host -l < "$chunk"
done
peer_seconds=$(python3 -c "print($(now) - $start)")

# --- Agent ------------------------------------------------------------------------------------------------
cp device.pem cert.pem; cp device.key key.pem; cp issuing.pem chain.pem
cat > agent.json <<JSON
{
  "device": "bench-dev",
  "broker": { "host": "127.0.0.1", "port": $PORT, "keepalive": 30 },
  "tls": { "ca": "root.pem", "chain": "chain.pem", "cert": "cert.pem", "key": "key.pem" },
  "buffer": { "path": "buffer.db", "maxRows": 2000000, "maxBytes": 1073741824, "durability": "process" },
  "heartbeat": "5s",
  "streams": [ { "name": "host", "qos": 1, "priority": "normal", "ttl": "7d" } ],
  "collector": { "enabled": false },
  "socket": "agent.sock",
  "delivery": { "window": 1000, "reconnectMin": "100ms", "reconnectMax": "1s" }
}
JSON
rss() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status"; }
anon() { awk '/^RssAnon/ { print $2 }' "/proc/$1/status"; }
hwm() { awk '/^VmHWM/ { print $2 }' "/proc/$1/status"; }
meta() { sqlite3 -readonly buffer.db "SELECT value FROM meta WHERE key = '$1'"; }
wait_delivered() {  # wait until the buffer holds nothing and `delivered` reached $1 (polled cheaply with sqlite3)
    until [ "$(meta rows)" = 0 ] && [ "$(meta delivered)" -ge "$1" ]; do sleep 0.05; done
}
start_agent() {
    if [ -n "${BENCH_PERF:-}" ]; then  # profile the agent instead of running it plainly (developer aid)
        perf record -e cpu-clock -g -o "$BENCH_PERF.$RANDOM" -- "$AGENT" run --config agent.json 2>agent.log &
        sleep 0.5
        AGENT_PID=$(pgrep -n -f "fleet-agent run --config agent.json")
    else
        "$AGENT" run --config agent.json 2>agent.log &
        AGENT_PID=$!
    fi
}
stop_agent() { kill -TERM "$AGENT_PID"; wait "$AGENT_PID" 2>/dev/null || true; AGENT_PID=""; }

start_agent
sleep 2
idle_rss=$(rss "$AGENT_PID")
idle_anon=$(anon "$AGENT_PID")
start=$(now)
"$AGENT" send --config agent.json --stream host --batch 2000 < records.txt >/dev/null
[ -n "${BENCH_DEBUG:-}" ] && echo "send done after $(python3 -c "print($(now) - $start)") s" >&2
wait_delivered "$N"
agent_seconds=$(python3 -c "print($(now) - $start)")
load_hwm=$(hwm "$AGENT_PID")
stop_agent

# The same with durability "power": every group commit is fsynced before producers get their answer.
sed -i 's/"durability": "process"/"durability": "power"/' agent.json
start_agent
sleep 1
delivered_before=$(meta delivered)
start=$(now)
"$AGENT" send --config agent.json --stream host --batch 2000 < records.txt >/dev/null
wait_delivered $((delivered_before + N))
power_seconds=$(python3 -c "print($(now) - $start)")
stop_agent
sed -i 's/"durability": "power"/"durability": "process"/' agent.json

# Drain: a 100,000-record backlog written while the agent is down, then the agent started.
delivered_before=$(meta delivered)
"$AGENT" send --config agent.json --stream host --batch 5000 < records.txt >/dev/null
start=$(now)
start_agent
wait_delivered $((delivered_before + N))
[ -n "${BENCH_DEBUG:-}" ] && echo "agent cpu ticks during drain: $(awk '{ print $14 + $15 }' /proc/$AGENT_PID/stat), broker: $(awk '{ print $14 + $15 }' /proc/$BROKER_PID/stat)" >&2
drain_seconds=$(python3 -c "print($(now) - $start)")
stop_agent

# Backlog of 1,000,000 records with the broker down: memory must not grow with it.
stop_broker
for i in $(seq 0 $((BACKLOG / N - 1))); do "$AGENT" send --config agent.json --stream host --batch 10000 < records.txt >/dev/null; done
start_agent
while [ "$(meta rows)" -lt "$BACKLOG" ]; do sleep 0.2; done
sleep 3
backlog_rss=$(rss "$AGENT_PID")
backlog_anon=$(anon "$AGENT_PID")
backlog_hwm=$(hwm "$AGENT_PID")
stop_agent

python3 - "$N" "$agent_seconds" "$peer_seconds" "$drain_seconds" "$idle_rss" "$load_hwm" "$backlog_rss" "$backlog_hwm" \
    "$idle_anon" "$backlog_anon" "$power_seconds" <<'PY'
import sys
n, agent, peer, drain, idle, load, backlog, backlog_peak, idle_anon, backlog_anon, power = sys.argv[1:]
n = int(n); agent = float(agent); peer = float(peer)
rate, peer_rate = n / agent, n / peer
print(f"agent_qos1_rate\t{rate:.0f}\trecords/s\tmosquitto_pub -l\t{peer_rate:.0f}\t{rate / peer_rate:.2f}")
power_rate = n / float(power)
print(f"agent_qos1_rate_power\t{power_rate:.0f}\trecords/s\tmosquitto_pub -l\t{peer_rate:.0f}\t{power_rate / peer_rate:.2f}")
print(f"drain_100k\t{float(drain):.2f}\ts\t-\t-\t-")
print(f"rss_idle_kb\t{idle}\tKiB\t-\t-\t-")
print(f"rss_load_kb\t{load}\tKiB\t-\t-\t-")
print(f"rss_backlog_1m_kb\t{backlog}\tKiB\tpeak while holding\t{backlog_peak}\t-")
# Most of the RSS is shared library text (Swift runtime, libcrypto); the private heap is what could grow.
print(f"anon_idle_kb\t{idle_anon}\tKiB\t-\t-\t-")
print(f"anon_backlog_1m_kb\t{backlog_anon}\tKiB\t-\t-\t-")
PY
