#!/usr/bin/env bash
# Issuance benchmark: certificates per second issued by FleetCA from pre-made P-256 CSRs, in one process,
# with the inventory committed to disk, printed beside the ceiling that `openssl speed ecdsap256` gives for
# one CSR verify plus one signature, measured in the same run. Usage: scripts/bench-issuance.sh BIN_DIR [COUNT]
# Output, one line per figure: name<TAB>value<TAB>unit<TAB>peer<TAB>peer_value<TAB>ratio
# (the phase lines have no peer; they say where the time goes).
set -euo pipefail
bin="${1:?usage: scripts/bench-issuance.sh BIN_DIR [COUNT]}"
count="${2:-4000}"

# One core, as the figure is stated per core.
pin=()
command -v taskset >/dev/null && pin=(taskset -c 0)

speed=$("${pin[@]}" openssl speed -seconds 2 ecdsap256 2>/dev/null | awk '/nistp256/ {print $(NF-1), $NF}')
sign=${speed% *}
verify=${speed#* }
ceiling=$(awk -v s="$sign" -v v="$verify" 'BEGIN { printf "%.1f", 1 / (1 / s + 1 / v) }')

"${pin[@]}" "$bin/fleet-bench-issuance" --count "$count" | while IFS=$'\t' read -r name value unit; do
    if [ "$name" = "issuance_p256_csr" ]; then
        ratio=$(awk -v a="$value" -v b="$ceiling" 'BEGIN { printf "%.3f", a / b }')
        printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$value" "$unit" "openssl-speed-ecdsap256-verify+sign" "$ceiling" "$ratio"
    else
        printf '%s\t%s\t%s\t\t\t\n' "$name" "$value" "$unit"
    fi
done
