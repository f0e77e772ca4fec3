#!/usr/bin/env bash
# Installs the Debian packages libptune needs to build and test, when any is missing.
# Runs apt-get as root (or through sudo); does nothing when everything is present.
set -euo pipefail

packages=(gcc g++ meson ninja-build pkg-config libopenblas-dev libjansson-dev libcmocka-dev libyaml-dev libonig-dev libutf8proc-dev abigail-tools python3-pytest python3-numpy python3-setuptools python3-pip valgrind libopenmpi-dev openmpi-bin)

missing=()
for p in "${packages[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    [[ "$status" == *"install ok installed"* ]] || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "installing: ${missing[*]}" >&2
if [ "$(id -u)" -eq 0 ]; then
    SUDO=""
elif command -v sudo >/dev/null; then
    SUDO="sudo"
else
    echo "error: these packages are missing and I am not root: ${missing[*]}" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
