#!/usr/bin/env bash
# Stops the containerd that start.sh started and removes what it held: every pod sandbox and
# container it still runs (their shims outlive containerd otherwise), containerd itself (by the
# PID start.sh recorded), the network namespace `podspec-containerd` with the CNI bridge in it,
# and containerd's runtime state under /run/podspec-containerd. Images and the content store
# under /var/lib/podspec-containerd are kept for the next start (`rm -rf
# /var/lib/podspec-containerd` removes them). Nothing else on the machine is touched.
set -euo pipefail
netns=podspec-containerd
state=/run/podspec-containerd
sock=$state/containerd.sock
pidfile=$state/containerd.pid

if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
  pid="$(cat "$pidfile")"
  if [ -S "$sock" ]; then
    # The tasks first: each is a shim and a container process of containerd's own.
    for t in $(ctr --address "$sock" -n k8s.io tasks ls -q 2>/dev/null); do
      ctr --address "$sock" -n k8s.io tasks kill -s SIGKILL "$t" >/dev/null 2>&1 || true
    done
    for t in $(ctr --address "$sock" -n k8s.io tasks ls -q 2>/dev/null); do
      for _ in $(seq 1 50); do
        ctr --address "$sock" -n k8s.io tasks delete "$t" >/dev/null 2>&1 && break
        sleep 0.1
      done
    done
    for c in $(ctr --address "$sock" -n k8s.io containers ls -q 2>/dev/null); do
      ctr --address "$sock" -n k8s.io containers delete "$c" >/dev/null 2>&1 || true
    done
  fi
  kill -TERM "$pid"
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid"; fi
  echo "containerd for podspec stopped (pid $pid)"
fi
rm -f "$pidfile"
# Pods' network namespaces are mounted under the state directory (netns_mounts_under_state_dir).
if [ -d "$state" ]; then
  { grep " $state/" /proc/self/mounts || true; } | awk '{print $2}' | sort -r | while read -r m; do umount -l "$m" 2>/dev/null || true; done
fi
if ip netns list | grep -qx "$netns\( .*\)\?"; then
  ip netns delete "$netns"
fi
# containerd's runtime state (sockets, runc's state, the exported image archives) goes with it.
rm -rf "$state"
