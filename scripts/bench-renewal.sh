#!/usr/bin/env bash
# Renewal storm benchmark: 1,000 simulated devices (COUNT), each on its own MQTT connection through a real
# Mosquitto set up by `broker init`, ask a running `fleetctl serve` for a new certificate at once. Prints the
# renewals per second beside the same CA's in-process rotation rate, and the p50/p99 time to a new
# certificate. Usage: scripts/bench-renewal.sh BIN_DIR [COUNT]
# Output, one line per figure: name<TAB>value<TAB>unit<TAB>peer<TAB>peer_value<TAB>ratio
set -euo pipefail
cd "$(dirname "$0")/.."
bin="${1:?usage: scripts/bench-renewal.sh BIN_DIR [COUNT]}"
count="${2:-1000}"
# One connection per device: make room for the broker's and our descriptors.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
echo "bench-renewal: $count devices renewing at once through mosquitto and fleetctl serve" >&2
"$bin/fleet-bench-renewal" --fleetctl "$bin/fleetctl" --policies policies --count "$count"
