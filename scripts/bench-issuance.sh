#!/usr/bin/env bash
# Issuance benchmark: certificates per second issued by FleetCA from pre-made P-256 CSRs, in one process,
# with the inventory committed to disk, printed beside the ceiling that `openssl speed ecdsap256` gives for
# one CSR verify plus one signature, measured in the same run. Usage: scripts/bench-issuance.sh BIN_DIR [COUNT]
# Output, one line per figure: name<TAB>value<TAB>unit<TAB>peer<TAB>peer_value<TAB>ratio
# The phase lines say where the time goes; verify and sign are set beside openssl's own figures.
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

echo "bench-issuance: openssl speed ecdsap256: sign $sign/s, verify $verify/s; issuing $count certificates" >&2

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }

"${pin[@]}" "$bin/fleet-bench-issuance" --count "$count" | while IFS=$'\t' read -r name value unit; do
    case "$name" in
    issuance_p256_csr) peer="openssl-speed-ecdsap256-verify+sign" peer_value=$ceiling ;;
    issuance_phase_verify_csr) peer="openssl-speed-ecdsap256-verify" peer_value=$verify ;;
    issuance_phase_build_and_sign) peer="openssl-speed-ecdsap256-sign" peer_value=$sign ;;
    *) peer="-" peer_value="-" ;;
    esac
    if [ "$peer_value" = "-" ]; then
        printf '%s\t%s\t%s\t-\t-\t-\n' "$name" "$value" "$unit"
    else
        printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$value" "$unit" "$peer" "$peer_value" "$(ratio "$value" "$peer_value")"
    fi
done
