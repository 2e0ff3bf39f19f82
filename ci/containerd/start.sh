#!/usr/bin/env bash
# Starts containerd for podspec's `--target cri`, as root, with podspec's own configuration,
# inside a network namespace of its own, then imports podspec's images. No systemd needed.
#
#   bash ci/containerd/start.sh [PODSPEC]   # PODSPEC: the podspec binary (default target/debug/podspec)
#
# - The network namespace `podspec-containerd` is created (lo up): the CNI bridge and the pods'
#   veths live there, so `ip -o link` and `ip route` on the machine read the same before, during
#   and after a run.
# - containerd's root, state, socket and CNI configuration are podspec's own (see config.toml):
#   /var/lib/podspec-containerd, /run/podspec-containerd. Its socket:
#   unix:///run/podspec-containerd/containerd.sock
# - The fixture images and the pause image are exported by podspec and imported with
#   `ctr -n k8s.io images import`; nothing is pulled.
# Stop it with stop.sh.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
podspec="${1:-$here/../../target/debug/podspec}"
netns=podspec-containerd
state=/run/podspec-containerd
sock=$state/containerd.sock
pidfile=$state/containerd.pid

if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
  echo "containerd for podspec already runs (pid $(cat "$pidfile"), socket $sock)"
else
  mkdir -p "$state/cni" /var/lib/podspec-containerd
  cp "$here/10-podspec.conflist" "$state/cni/10-podspec.conflist"
  # The crun handler's binary (config.toml): crun through podspec's wrapper.
  mkdir -p "$state/bin"
  install -m 0755 "$here/../runtimes/crun" "$state/bin/crun"
  if ! ip netns list | grep -qx "$netns\( .*\)\?"; then
    ip netns add "$netns"
  fi
  ip -n "$netns" link set lo up
  rm -f "$sock"
  # nsenter joins the network namespace only: `ip netns exec` would also mount a sysfs of its
  # own over /sys, hiding /sys/fs/cgroup from runc. setsid: containerd outlives this shell.
  nsenter --net="/run/netns/$netns" setsid containerd --config "$here/config.toml" >"$state/containerd.log" 2>&1 </dev/null &
  echo $! >"$pidfile"
  for _ in $(seq 1 100); do
    [ -S "$sock" ] && ctr --address "$sock" version >/dev/null 2>&1 && break
    if ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then
      echo "containerd exited at once; its log ($state/containerd.log):" >&2
      tail -20 "$state/containerd.log" >&2
      exit 1
    fi
    sleep 0.1
  done
  [ -S "$sock" ] || { echo "containerd's socket $sock did not appear within 10 s" >&2; exit 1; }
  echo "containerd for podspec runs (pid $(cat "$pidfile"), network namespace $netns, socket unix://$sock)"
fi

images="$state/images"
mkdir -p "$images"
"$podspec" images export --cri "$images" >"$images/exported.txt"
for archive in "$images"/*.tar; do
  ctr --address "$sock" -n k8s.io images import "$archive" >/dev/null
done
ctr --address "$sock" -n k8s.io images ls -q
