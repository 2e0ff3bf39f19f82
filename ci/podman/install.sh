#!/usr/bin/env bash
# Installs podman for podspec's podman target on Debian bookworm, as root: podman and runc
# (crun fails on hybrid cgroup hierarchies; podspec runs podman with runc). Does nothing when they
# are there. Nothing else is needed: podspec writes its own containers.conf (runtime and ulimits,
# see containers-conf.sh) and loads its own images; podman builds its pause image locally.
set -euo pipefail

bash "$(dirname "$0")/../install-debian-packages.sh" podman runc
podman --version
