#!/usr/bin/env bash
# `make bench`: runs every benchmark of the project in one go and prints one table, each figure beside
# its peer or ceiling measured in the same run, with the ratio. The table is also written to
# .build/bench/report.md and report.tsv.
#
# Each scripts/bench-*.sh takes the folder of release binaries, writes progress to stderr, and prints
# its results on stdout as lines of six tab-separated fields:
#   name  value  unit  peer  peer_value  ratio
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:?usage: scripts/bench.sh BIN_DIR}
out=.build/bench
mkdir -p "$out"
tsv=$out/report.tsv
: > "$tsv"

for script in scripts/bench-issuance.sh scripts/bench-acl.sh scripts/bench-agent.sh scripts/bench-renewal.sh; do
    [ -x "$script" ] || { echo "bench: $script is missing, skipped" >&2; continue; }
    echo "bench: running $script" >&2
    if ! "$script" "$bin" | awk -F'\t' 'NF == 6' >> "$tsv"; then
        echo "bench: $script failed" >&2
        printf '%s\tFAILED\t-\t-\t-\t-\n' "$(basename "$script" .sh)" >> "$tsv"
    fi
done

{
    echo "# Benchmarks ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $(uname -m))"
    echo
    echo "| figure | value | unit | peer or ceiling | peer value | ratio |"
    echo "|---|---:|---|---|---:|---:|"
    awk -F'\t' '{ printf "| %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6 }' "$tsv"
} > "$out/report.md"
cat "$out/report.md"
echo
echo "bench: table written to $out/report.md"
