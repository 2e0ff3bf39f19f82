#!/usr/bin/env bash
# Installs podman for podspec's podman target on Debian bookworm, as root: podman and runc
# (crun fails on hybrid cgroup hierarchies; podspec runs podman with runc). Does nothing when they
# are there. Nothing else is needed: podspec writes its own containers.conf (runtime and ulimits,
# see containers-conf.sh) and loads its own images; podman builds its pause image locally.
set -euo pipefail

packages=(podman runc)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "podspec's podman target needs the Debian packages: ${missing[*]} (run: sudo apt-get install -y ${missing[*]})" >&2
    exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
podman --version
