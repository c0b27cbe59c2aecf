#!/usr/bin/env bash
# Benchmark of the ACL exports for 100,000 devices in 3 groups (sensors, gateways, quarantine) plus the
# example services, with the example policies.
#
# Usage: scripts/bench-acl.sh BIN_DIR      (BIN_DIR holds a built fleetctl, e.g. from swift build -c release)
#
# Prints one line per figure: name<TAB>value<TAB>unit<TAB>peer<TAB>peer_value<TAB>ratio (peer_value/value).
# Figures: export time and file size per format at 100,000 devices; the time Mosquitto takes to start
# with the exported acl_file (until it answers a QoS 1 publish) and to reload it on SIGHUP (until it
# answers again). Mosquitto loads acl_file in time quadratic in user blocks (DESIGN.md: 100k blocks
# ~130 s), so the per-device form (one user block per device, the shape of the VerneMQ export, which is
# valid acl_file syntax) is capped at 10,000 devices, which loads in about a second; the pattern form
# the exporter picks is measured at both 10,000 and 100,000. Runs in well under 3 minutes.
set -euo pipefail
bin=${1:?usage: bench-acl.sh BIN_DIR}
fleetctl="$bin/fleetctl"
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/bench-acl.XXXXXX)
broker_pid=""
cleanup() {
    if [ -n "$broker_pid" ]; then kill -9 "$broker_pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

figure() { printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$@"; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
ratio() { awk -v v="$1" -v p="$2" 'BEGIN { if (v > 0) printf "%.1f", p / v; else print "-" }'; }

# Principals: N devices; 2% gateways with a site, 0.1% quarantined sensors, the rest sensors.
make_principals() {
    python3 - "$1" > "$2" <<'PY'
import json, sys
count = int(sys.argv[1])
items = []
for i in range(count):
    name = f"dev-{i:06d}"
    if i % 50 == 0:
        items.append({"id": name, "groups": ["gateways"], "attributes": {"site": f"site-{i % 40}"}})
    elif i % 1000 == 1:
        items.append({"id": name, "groups": ["sensors", "quarantine"]})
    else:
        items.append({"id": name, "groups": ["sensors"]})
for service in ["telemetry-consumer", "fleet-ca", "site-config", "ops-monitor"]:
    items.append({"id": service, "kind": "service"})
json.dump(items, sys.stdout)
PY
}

make_principals 100000 "$work/principals-100k.json"
make_principals 10000 "$work/principals-10k.json"

for format in mosquitto mosquitto-dynsec emqx vernemq; do
    start=$(now)
    "$fleetctl" acl export --format "$format" --policies "$root/policies" --principals "$work/principals-100k.json" \
        --out "$work/acl-100k.$format" 2> "$work/export-$format.log"
    end=$(now)
    figure "export_time_100k_$format" "$(elapsed "$start" "$end")" s - - -
    figure "export_size_100k_$format" "$(stat -c %s "$work/acl-100k.$format")" bytes - - -
done
blocks=$(grep -c '^user ' "$work/acl-100k.mosquitto")
figure user_blocks_100k_mosquitto "$blocks" count per_device_form 100000 "$(ratio "$blocks" 100000)"

"$fleetctl" acl export --format mosquitto --policies "$root/policies" --principals "$work/principals-10k.json" \
    --out "$work/acl-10k.patterns" 2>/dev/null
"$fleetctl" acl export --format vernemq --policies "$root/policies" --principals "$work/principals-10k.json" \
    --out "$work/acl-10k.per-device" 2>/dev/null

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
touch "$work/passwords"
mosquitto_passwd -b "$work/passwords" bench-writer bench-secret
probe() {  # one QoS 1 publish by the writer; succeeds once the broker serves clients
    mosquitto_pub -h 127.0.0.1 -p "$port" -u bench-writer -P bench-secret -V mqttv5 -q 1 -t bench/probe -m x \
        2>/dev/null
}
wait_probe() {
    local deadline=$(( $(date +%s) + 120 ))
    until probe; do
        [ "$(date +%s)" -lt "$deadline" ] || { echo "bench-acl: the broker never answered" >&2; exit 1; }
        sleep 0.01
    done
}

# Starts mosquitto with ACL file $1, sets $took to the start time and leaves it running in $broker_pid.
start_broker() {
    cp "$1" "$work/acl"
    printf '\nuser bench-writer\ntopic write bench/#\n' >> "$work/acl"
    cat > "$work/mosquitto.conf" <<CONF
listener $port 127.0.0.1
allow_anonymous false
password_file $work/passwords
acl_file $work/acl
persistence false
user root
log_dest none
CONF
    local start end
    start=$(now)
    mosquitto -c "$work/mosquitto.conf" > /dev/null 2>&1 &
    broker_pid=$!
    wait_probe
    end=$(now)
    took=$(elapsed "$start" "$end")
}

# Sends SIGHUP and sets $took to the time until the broker answers again.
reload_broker() {
    local start end
    start=$(now)
    kill -HUP "$broker_pid"
    sleep 0.001
    wait_probe
    end=$(now)
    took=$(elapsed "$start" "$end")
}

stop_broker() {
    kill -9 "$broker_pid" 2>/dev/null || true
    wait "$broker_pid" 2>/dev/null || true
    broker_pid=""
}

took=""
start_broker "$work/acl-10k.patterns"; start_p10=$took; reload_broker; reload_p10=$took; stop_broker
start_broker "$work/acl-10k.per-device"; start_u10=$took; reload_broker; reload_u10=$took; stop_broker
start_broker "$work/acl-100k.mosquitto"; start_p100=$took; reload_broker; reload_p100=$took; stop_broker

figure mosquitto_start_10k_patterns "$start_p10" s per_device_10k "$start_u10" "$(ratio "$start_p10" "$start_u10")"
figure mosquitto_reload_10k_patterns "$reload_p10" s per_device_10k "$reload_u10" "$(ratio "$reload_p10" "$reload_u10")"
figure mosquitto_start_100k_patterns "$start_p100" s per_device_10k "$start_u10" "$(ratio "$start_p100" "$start_u10")"
figure mosquitto_reload_100k_patterns "$reload_p100" s per_device_10k "$reload_u10" \
    "$(ratio "$reload_p100" "$reload_u10")"
