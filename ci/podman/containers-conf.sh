#!/usr/bin/env bash
# Writes the containers.conf podspec runs podman with, for using podman by hand the same way:
#   bash ci/podman/containers-conf.sh [FILE]      (default: /etc/podspec/containers.conf)
#   export CONTAINERS_CONF=FILE
# podspec itself writes the same file under its state directory (/run/podspec/podman/) and
# passes it to every podman command; /etc/containers/containers.conf is never edited.
# - runtime = "runc": crun fails on hybrid cgroup hierarchies;
# - default_ulimits at what the machine allows: nofile at the hard limit (`ulimit -Hn`), which
#   even root cannot raise, and nproc at 32768 (or the hard limit, if lower).
set -euo pipefail

file="${1:-/etc/podspec/containers.conf}"
nofile="$(ulimit -Hn)"
[ "$nofile" = unlimited ] && nofile=1048576
nproc="$(ulimit -Hu)"
if [ "$nproc" = unlimited ] || [ "$nproc" -gt 32768 ]; then nproc=32768; fi

mkdir -p "$(dirname "$file")"
cat > "$file.tmp" <<CONF
# Written by podspec for its podman target (CONTAINERS_CONF); see ci/podman/README.md.
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=$nproc:$nproc"]

[engine]
runtime = "runc"
CONF
mv "$file.tmp" "$file"
echo "wrote $file; use it with: export CONTAINERS_CONF=$file"
