#!/usr/bin/env bash
# The README's "run the tests" command: installs what the tests need from Debian's packages on a
# fresh Debian bookworm machine (as root), starts podspec's own containerd (in a network namespace
# of its own, for tests/cri.rs) and runs every test, `--include-ignored` (tests/podman.rs's gate
# in the background beside all but tests/it, which runs after it; below); the tests that need root, podman, containerd, kubectl or
# python3 are `#[ignore]`d for a plain `cargo test`. containerd is stopped whatever happens.
# Among the tests: the SIGKILL test (tests/it/reliability.rs: 20 kills at random points, nothing
# left after clean), a bounded fuzz run of every parser (tests/it/fuzz.rs), kubectl and the Python
# client against podspec serve, and every feature through the kube target against serve.
set -euo pipefail
cd "$(dirname "$0")/.."

# podspec serve's client tests: the official Python client (Debian's python3-kubernetes), and a
# kubectl (Debian's kubernetes-client only where the machine has none).
serve_clients=(python3-kubernetes)
if ! command -v kubectl >/dev/null && ! ls /usr/lib/google-cloud-sdk/bin/kubectl.1.* >/dev/null 2>&1; then
  serve_clients+=(kubernetes-client)
fi
# tests/it/image_pull.rs: a registry on loopback (the CNCF distribution registry) and skopeo,
# which pushes a fixture image into it; htpasswd (apache2-utils) makes the bcrypt file of the
# registry that asks for credentials.
bash ci/install-debian-packages.sh "${serve_clients[@]}" docker-registry skopeo apache2-utils
# Where systemd runs, Debian's package starts a registry of its own on every address (:5000);
# the tests start theirs on 127.0.0.1 and want no other.
if command -v systemctl >/dev/null && systemctl is-active --quiet docker-registry 2>/dev/null; then
  systemctl disable --now docker-registry
fi
bash ci/podman/install.sh
bash ci/containerd/install.sh
cargo build
trap 'bash ci/containerd/stop.sh' EXIT
bash ci/containerd/start.sh ./target/debug/podspec
# tests/podman.rs's gate (every feature on podman with runc, then with crun: ~2 x 8 min, most of
# it waiting on podman, little CPU) runs in the background beside every other test binary but
# tests/it (the unit tests, the CRI gates, every feature on reference, tests/podman.rs's other
# checks, retry: ~8 min), and tests/it (~10 min) runs after the gate, alone: beside the gate on
# a loaded machine, four of its timing-bound tests failed (docs/src/developer/testing.md, "Where
# CI's time goes"). The gate's output is printed when it ends. The two podman runs stay one after
# the other: run at once, they slowed podman enough that a baselined timing scenario changed
# outcome (tests/podman.rs). PODSPEC_TESTS_SERIAL=1 runs every test binary one after another.
if [ "${PODSPEC_TESTS_SERIAL:-}" = 1 ]; then
  cargo test -- --include-ignored
  cargo test -p podspec-openapi-schemas
  cargo test -p podspec-cri-client
  exit 0
fi
# The test targets named below must be all the workspace has (a new one would otherwise not run).
named="cri features it podman retry"
found=$(cargo metadata --no-deps --format-version 1 | python3 -c 'import json, sys; print(" ".join(sorted(t["name"] for p in json.load(sys.stdin)["packages"] for t in p["targets"] if "test" in t["kind"])))')
if [ "$found" != "$named" ]; then
  echo "ci/run-tests.sh runs the test targets \"$named\", but the workspace has \"$found\": name the new one below"; exit 1
fi
gate=every_feature_on_runc_and_on_crun_fails_only_where_its_baseline_says
cargo test --no-run
gate_log=$(mktemp)
cargo test --test podman -- --include-ignored "$gate" >"$gate_log" 2>&1 & gate_pid=$!
status=0
# Every test target of the workspace but tests/it (cargo has no "all but one"): the libraries'
# and binaries' unit tests, the harness = false targets, and the doc tests. Not
# podspec-openapi-schemas: in the same cargo invocation, its k8s-openapi "schemars" feature would
# be unified into every crate above k8s-openapi and rebuild them all; nor podspec-cri-client,
# which has a run of its own below.
cargo test --workspace --exclude podspec-openapi-schemas --exclude podspec-cri-client --lib --bins --test cri --test features --test podman --test retry -- --include-ignored --skip "$gate" || status=$?
cargo test --workspace --exclude podspec-openapi-schemas --exclude podspec-cri-client --doc || status=$?
# serve's checked-in OpenAPI schemas are what k8s-openapi's types generate; a cargo run of its own,
# as it builds k8s-openapi a second time, with the schemars feature (37 s cold, its own build included, on 2 cores).
cargo test -p podspec-openapi-schemas || status=$?
# The checked-in CRI client is what the CRI's api.proto generates (protox: no protoc needed).
cargo test -p podspec-cri-client || status=$?
gate_status=0
wait "$gate_pid" || gate_status=$?
echo "== $(date -u +%T) tests/podman.rs: $gate (run beside the tests above)"
cat "$gate_log"; rm -f "$gate_log"
# tests/it runs whatever came before, so that one run shows every failure.
echo "== $(date -u +%T) tests/it"
cargo test --test it -- --include-ignored || status=$?
[ "$status" -ne 0 ] || status=$gate_status
exit "$status"
