#!/usr/bin/env bash
# Installs podman for podspec's podman target on Debian bookworm, as root: podman and runc (its
# default runtime under podspec), and crun and runsc (gVisor), the runtimes `--podman-runtime`
# chooses beside it. Does nothing when they are there. Nothing else is needed: podspec writes its own containers.conf (runtime and ulimits,
# see containers-conf.sh) and loads its own images; podman builds its pause image locally.
set -euo pipefail

bash "$(dirname "$0")/../install-debian-packages.sh" podman runc crun runsc
podman --version
