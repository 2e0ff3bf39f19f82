#!/usr/bin/env bash
# Installs the Debian packages podspec needs on a fresh Debian bookworm machine (as root):
# busybox-static, from which the fixture image is built; iproute2 and util-linux, which the tests
# use to look into namespaces; protobuf-compiler, whose protoc the build of the CRI client needs.
# Does nothing when they are there.
set -euo pipefail

# Further packages may be named as arguments (ci/podman/install.sh adds podman and runc).
packages=(busybox-static iproute2 util-linux protobuf-compiler "$@")
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "podspec needs the Debian packages: ${missing[*]} (run: sudo apt-get install -y ${missing[*]})" >&2
    exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
