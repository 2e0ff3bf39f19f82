#!/usr/bin/env bash
# Installs what podspec's `--target cri` needs on Debian bookworm, as root: containerd (which
# brings runc), the OCI runtimes beside runc that ci/containerd configures as runtime handlers
# (crun 1.8.1; runsc, gVisor 2022-12-19), the CNI plugins (bridge, host-local, portmap in
# /usr/lib/cni). Does nothing when they are there.
set -euo pipefail

bash "$(dirname "$0")/../install-debian-packages.sh" containerd crun runsc containernetworking-plugins
containerd --version
# The first line of each: sed reads the rest (head would end first, and under pipefail the
# runtime's SIGPIPE ended CI with 141).
crun --version | sed -n 1p
runsc --version | sed -n 1p
