#!/usr/bin/env bash
# `make demo`: the whole story on loopback, in a temporary folder, with real components.
#
#   1. a CA; devices in two groups (one from a CSR made by `openssl req`, a batch from a CSV file);
#   2. the policies exported and a real Mosquitto started from `fleetctl broker init`'s configuration;
#   3. the CA service (`fleetctl serve`), the telemetry consumer (`fleetctl ingest`, which confirms every
#      stored record with a delivery receipt) and agents sending real host readings from /proc plus a
#      faster synthetic stream at QoS 1 and 2, on certificates that live 60 seconds and renew themselves;
#   4. the broker killed with SIGKILL for about ten seconds mid-run, then restarted;
#   5. a device revoked and shown locked out (refused handshake, dead session), and a forced rotation;
#   6. a summary table of what was sent, delivered, duplicated, missing, evicted and rejected, renewals
#      and the revocation proof.
#
# Exit status: 0 when every record an agent acknowledged reached the consumer (or is accounted for as
# evicted, expired, rejected, or held by the revoked device), 1 otherwise. No process is left running.
set -euo pipefail
BIN=$(cd "${1:?usage: scripts/demo.sh BIN_DIR}" && pwd)
ROOT=$(cd "$(dirname "$0")/.." && pwd)
FLEETCTL="$BIN/fleetctl"
AGENT="$BIN/fleet-agent"
WORK=$(mktemp -d /tmp/fleet-demo.XXXXXX)
chmod 755 "$WORK"  # the broker drops to user 'mosquitto', which must be able to reach its folder
HOME_DIR="$WORK/ca"
BROKER_DIR="$WORK/broker"
DEVICES="$WORK/devices"
PIDS=()

bold=$'\e[1m'; dim=$'\e[2m'; green=$'\e[32m'; red=$'\e[31m'; reset=$'\e[0m'
[ -t 1 ] || { bold=""; dim=""; green=""; red=""; reset=""; }
step() { printf '\n%s== %s%s\n' "$bold" "$*" "$reset"; }
say() { printf '   %s\n' "$*"; }
started() { local t=$(( $(date +%s) - START )); printf '%s[%3ds]%s ' "$dim" "$t" "$reset"; }

broker_pid() { cat "$BROKER_DIR/data/mosquitto.pid" 2>/dev/null || true; }

cleanup() {
    local status=$?
    for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    local broker; broker=$(broker_pid)
    [ -n "$broker" ] && kill -TERM "$broker" 2>/dev/null || true
    sleep 0.2
    [ -n "$broker" ] && kill -KILL "$broker" 2>/dev/null || true
    if [ "$status" -eq 0 ] && [ -z "${FLEET_DEMO_KEEP:-}" ]; then rm -rf "$WORK"; else say "files kept in $WORK"; fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

START=$(date +%s)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

# ---------------------------------------------------------------------------------------------------------
step "1. A certificate authority and its devices"
# Device certificates live 60 seconds here, so they renew (twice or so) while data flows.
"$FLEETCTL" ca init --home "$HOME_DIR" --name "Demo Fleet" --broker-port "$PORT" --device-validity 60s \
    | sed 's/^/   /'
mkdir -p "$HOME_DIR/policies"
cp "$ROOT"/policies/*.yaml "$ROOT"/policies/*.json "$HOME_DIR/policies/"

for id in sensor-01 sensor-02 sensor-03; do
    "$FLEETCTL" provision "$id" --generate-key --group sensors --out "$DEVICES/$id" --home "$HOME_DIR" \
        | sed 's/^/   /'
done

# A device vendor's tool makes the key on the device and hands over only a CSR.
mkdir -p "$DEVICES/vendor-01"
openssl req -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:P-256 -subj "/CN=vendor-01" \
    -keyout "$DEVICES/vendor-01/key.pem" -out "$WORK/vendor-01.csr" 2>/dev/null
say "vendor-01: key and CSR made by openssl req, on the 'device'"
"$FLEETCTL" provision vendor-01 --csr "$WORK/vendor-01.csr" --group sensors --out "$WORK/vendor-bundle" \
    --home "$HOME_DIR" | sed 's/^/   /'
cp "$WORK"/vendor-bundle/* "$DEVICES/vendor-01/"

# A batch of gateways from a CSV file, as a factory would.
{
    echo "id,groups,attributes"
    for n in $(seq -w 1 20); do echo "gw-$n,gateways,site=plant-$(( (10#$n - 1) % 4 + 1 ))"; done
} > "$WORK/gateways.csv"
"$FLEETCTL" provision --from "$WORK/gateways.csv" --out "$DEVICES" --home "$HOME_DIR" | sed 's/^/   /'

"$FLEETCTL" service add telemetry-consumer --out "$WORK/services/telemetry-consumer" --home "$HOME_DIR" \
    | sed 's/^/   /'
"$FLEETCTL" list --home "$HOME_DIR" | sed -n 1,6p | sed 's/^/   /'
say "... $("$FLEETCTL" list --home "$HOME_DIR" --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))') certificates in the inventory"

# ---------------------------------------------------------------------------------------------------------
step "2. Policies exported, and a real Mosquitto started from broker init's configuration"
"$FLEETCTL" acl lint --home "$HOME_DIR" | sed 's/^/   /' || true
"$FLEETCTL" acl check sensor-01 publish fleet/sensor-01/telemetry/host --home "$HOME_DIR" | sed 's/^/   /'
"$FLEETCTL" acl check sensor-01 publish fleet/sensor-02/telemetry/host --home "$HOME_DIR" | sed 's/^/   /' || true
"$FLEETCTL" broker init --dir "$BROKER_DIR" --port "$PORT" --home "$HOME_DIR" | sed 's/^/   /'
mosquitto -c "$BROKER_DIR/mosquitto.conf" -d
for _ in $(seq 50); do [ -s "$BROKER_DIR/data/mosquitto.pid" ] && break; sleep 0.1; done
say "mosquitto running, pid $(broker_pid), TLS on 127.0.0.1:$PORT"

# ---------------------------------------------------------------------------------------------------------
step "3. The CA service, the consumer and the agents"
"$FLEETCTL" serve --broker-dir "$BROKER_DIR" --home "$HOME_DIR" --sync-interval 30s > "$WORK/serve.log" 2>&1 &
PIDS+=($!)
say "fleetctl serve: renewals over MQTT v5 request/response, CRL refresh and broker sync every 30s"
"$FLEETCTL" ingest --db "$WORK/ingest.db" --broker "127.0.0.1:$PORT" \
    --cert "$WORK/services/telemetry-consumer/cert.pem" --key "$WORK/services/telemetry-consumer/key.pem" \
    --ca "$WORK/services/telemetry-consumer/root.pem" --client-id telemetry-consumer \
    > "$WORK/ingest.log" 2>&1 &
PIDS+=($!)
say "fleetctl ingest: persistent session, records keyed by (device, boot epoch, sequence), receipts sent back"

AGENTS=(sensor-01 sensor-02 sensor-03 vendor-01 gw-01 gw-07)
for id in "${AGENTS[@]}"; do
    # Readings from /proc every second, and a 'fast' synthetic stream at QoS 1 beside the QoS 2 alarms.
    python3 - "$DEVICES/$id/agent.json" <<'PY'
import json, sys
path = sys.argv[1]
config = json.load(open(path))
config["collector"] = {"stream": "host", "interval": "1s"}
config["heartbeat"] = "5s"
# Records leave the buffer on the consumer's receipt (the bundle's default); resend unconfirmed ones after 10s.
config.setdefault("delivery", {}).update({"reconnectMin": "1s", "reconnectMax": "4s", "receiptTimeout": "10s"})
config["streams"] = [
    {"name": "host", "qos": 1, "priority": "normal", "ttl": "7d"},
    {"name": "fast", "qos": 1, "priority": "normal", "ttl": "1d"},
    {"name": "alarms", "qos": 2, "priority": "critical", "ttl": "30d"},
]
json.dump(config, open(path, "w"), indent=2)
PY
    "$AGENT" run --config "$DEVICES/$id/agent.json" > "$WORK/agent-$id.log" 2>&1 &
    PIDS+=($!)
done
say "${#AGENTS[@]} agents running: ${AGENTS[*]}"

# The synthetic producer: batches of readings on 'fast' (QoS 1) and a few on 'alarms' (QoS 2) per agent.
# A send that fails is refused, never acknowledged: it is logged and the producer carries on.
produce() {
    local id=$1 rounds=$2
    for round in $(seq "$rounds"); do
        python3 -c "
import json
for i in range(200):
    print(json.dumps({'device': '$id', 'round': $round, 'i': i, 'value': i * 0.5}))
" | "$AGENT" send --config "$DEVICES/$id/agent.json" --stream fast >> "$WORK/producer-$id.log" 2>&1 \
            || echo "round $round: send refused" >> "$WORK/producer-$id.log"
        printf '{"alarm":"threshold","round":%d}\n' "$round" \
            | "$AGENT" send --config "$DEVICES/$id/agent.json" --stream alarms >> "$WORK/producer-$id.log" 2>&1 \
            || echo "round $round: alarm refused" >> "$WORK/producer-$id.log"
        sleep 0.5
    done
}
PRODUCERS=()
for id in "${AGENTS[@]}"; do produce "$id" 60 & PRODUCERS+=($!); PIDS+=($!); done
say "producers started: 200 QoS 1 + 1 QoS 2 records per agent every half second"

progress() {
    local line=""
    for id in "${AGENTS[@]}"; do
        line+="$("$AGENT" status --config "$DEVICES/$id/agent.json" --json 2>/dev/null \
            | python3 -c 'import json,sys; s=json.load(sys.stdin); print("%s: %d/%d" % (s["device"], s["delivered"], s["accepted"]), end="")' \
            2>/dev/null || printf '%s: ?' "$id") "
    done
    started; echo "$line"
}
for _ in 1 2 3; do sleep 2; progress; done

# ---------------------------------------------------------------------------------------------------------
step "4. The broker is killed (SIGKILL) for ten seconds"
kill -KILL "$(broker_pid)"
say "broker down; agents keep accepting records into their buffers"
for _ in 1 2 3 4 5; do sleep 2; progress; done
mosquitto -c "$BROKER_DIR/mosquitto.conf" -d
for _ in $(seq 50); do [ -n "$(broker_pid)" ] && kill -0 "$(broker_pid)" 2>/dev/null && break; sleep 0.1; done
say "broker restarted, pid $(broker_pid); agents reconnect with backoff and resend"
for _ in 1 2 3; do sleep 2; progress; done

# ---------------------------------------------------------------------------------------------------------
step "5. gw-07 is revoked: the broker is synced and the lock-out proven"
"$FLEETCTL" revoke gw-07 --reason keyCompromise --broker-dir "$BROKER_DIR" --home "$HOME_DIR" | sed 's/^/   /'
if timeout 5 mosquitto_pub -h 127.0.0.1 -p "$PORT" -V mqttv5 --cafile "$DEVICES/gw-07/root.pem" \
    --cert "$DEVICES/gw-07/cert.pem" --key "$DEVICES/gw-07/key.pem" -i gw-07 \
    -t fleet/gw-07/telemetry/host -m '{}' -q 1 > "$WORK/gw-07-retry.log" 2>&1; then
    say "${red}gw-07 could still publish with its revoked certificate${reset}"
    exit 1
fi
say "mosquitto_pub with gw-07's certificate: $(tr '\n' ' ' < "$WORK/gw-07-retry.log")"

step "5b. sensor-02 is told to rotate now (fleetctl rotate --online)"
"$FLEETCTL" rotate sensor-02 --online --home "$HOME_DIR" | sed 's/^/   /'
for _ in $(seq 50); do
    "$FLEETCTL" show sensor-02 --home "$HOME_DIR" --json \
        | python3 -c 'import json,sys; d=json.load(sys.stdin); sys.exit(0 if any(c["state"] == "superseded" for c in d["certificates"]) else 1)' \
        && break
    sleep 0.2
done
"$FLEETCTL" show sensor-02 --home "$HOME_DIR" | sed 's/^/   /'

for _ in 1 2 3 4; do sleep 2; progress; done

# ---------------------------------------------------------------------------------------------------------
step "6. Producers finish; waiting for every backlog to drain"
for pid in "${PRODUCERS[@]}"; do wait "$pid" 2>/dev/null || true; done
for _ in $(seq 60); do
    pending=0
    for id in "${AGENTS[@]}"; do
        [ "$id" = gw-07 ] && continue
        backlog=$("$AGENT" status --config "$DEVICES/$id/agent.json" --json \
            | python3 -c 'import json,sys; s=json.load(sys.stdin); print(s["backlog"] + s["awaitingReceipt"])' \
            2>/dev/null || echo 1)  # a status that cannot be read counts as still pending
        pending=$(( pending + backlog ))
    done
    [ "$pending" -eq 0 ] && break
    started; say "records not yet confirmed by the consumer: $pending"
    sleep 1
done
sleep 2  # the consumer stores the last messages
for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
PIDS=()

# ---------------------------------------------------------------------------------------------------------
step "Summary"
for id in "${AGENTS[@]}"; do
    "$AGENT" status --config "$DEVICES/$id/agent.json" --json > "$WORK/status-$id.json"
done
"$FLEETCTL" ingest report --db "$WORK/ingest.db" --json > "$WORK/report.json"
"$FLEETCTL" audit --home "$HOME_DIR" --json > "$WORK/audit.json"
python3 - "$WORK" "${AGENTS[@]}" <<'PY'
import json, sys
work, agents = sys.argv[1], sys.argv[2:]
audit = json.load(open(f"{work}/audit.json"))
report = {d["device"]: d for d in json.load(open(f"{work}/report.json"))}
rows, failed = [], False
totals = dict(sent=0, delivered=0, duplicates=0, missing=0, evicted=0, rejected=0, held=0)
for device in agents:
    status = json.load(open(f"{work}/status-{device}.json"))
    got = report.get(device, {"received": 0, "duplicates": 0, "missing": []})
    evicted = status["evictedBulk"] + status["evictedNormal"] + status["evictedCritical"] + status["expired"]
    # What the agent still holds: its backlog and what waits for a receipt (only the revoked device may).
    held = status["backlog"] + status["awaitingReceipt"]
    missing = max(status["accepted"] - got["received"] - evicted - status["rejected"] - held, 0)
    row = dict(sent=status["accepted"], delivered=got["received"], duplicates=got["duplicates"], missing=missing,
               evicted=evicted, rejected=status["rejected"], held=held)
    for key in totals: totals[key] += row[key]
    failed |= missing > 0
    rows.append((device, row))
header = ["device", "sent", "delivered", "duplicates", "missing", "evicted", "rejected", "held"]
print("   " + "".join(f"{h:>12}" for h in header))
for device, row in rows + [("total", totals)]:
    print("   " + f"{device:>12}" + "".join(f"{row[h]:>12}" for h in header[1:]))
renewals = [r for r in audit if r["action"] == "renewal.issue"]
refusals = [r for r in audit if r["action"] == "renewal.refuse"]
print()
print("   sent: acknowledged to the producer (durably in the agent's buffer); delivered: stored by the consumer;")
print("   rejected: refused by the broker (PUBACK >= 0x80), set aside and never counted as delivered;")
print("   held: still in the agent's buffer when it stopped: readings taken after the last drain check (sent")
print("   on the agent's next start), and gw-07's records since its revocation, which it can no longer deliver.")
print(f"   renewals: {len(renewals)} certificates renewed over MQTT while data flowed, for "
      f"{', '.join(sorted(set(r['subject'] for r in renewals)))}; {len(refusals)} refused")
sys.exit(1 if failed else 0)
PY
status=$?
echo
if [ "$status" -eq 0 ]; then
    say "${green}revocation proof: gw-07 refused at the TLS handshake and stripped of all rights${reset}"
    say "${green}0 acknowledged records missing${reset} ($(( $(date +%s) - START )) s)"
else
    say "${red}acknowledged records are missing${reset}"
    exit 1
fi
