#!/usr/bin/env bash
# Installs what the build, the tests and the demo need and that this machine lacks:
# Debian packages through apt, and a Python virtual environment under .build/venv for the interop
# tools (cryptography, paho-mqtt, pkilint). Does nothing when everything is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(libssl-dev libsqlite3-dev libmosquitto-dev libyaml-dev mosquitto mosquitto-clients openssl sqlite3 python3-venv)
missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "install-deps: installing ${missing[*]}"
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

venv=.build/venv
if ! "$venv/bin/python3" -c 'import cryptography, paho.mqtt, pkilint' 2>/dev/null; then
    echo "install-deps: creating $venv with cryptography, paho-mqtt, pkilint"
    mkdir -p .build
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check cryptography 'paho-mqtt>=2' pkilint
fi
