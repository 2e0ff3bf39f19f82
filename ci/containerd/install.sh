#!/usr/bin/env bash
# Installs what podspec's `--target cri` needs on Debian bookworm, as root: containerd (which
# brings runc), the CNI plugins (bridge, host-local, portmap in /usr/lib/cni) and protoc, which
# the build of the CRI client needs. Does nothing when they are there.
set -euo pipefail

bash "$(dirname "$0")/../install-debian-packages.sh" containerd containernetworking-plugins protobuf-compiler
containerd --version
