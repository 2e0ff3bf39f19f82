#!/usr/bin/env bash
# Renders a matrix.html in headless Chromium (Debian's `chromium` package) and saves a
# screenshot, so CI can keep what a person would see as an artifact. It does not gate anything.
#
# usage: ci/screenshot-matrix.sh MATRIX.html [OUT.png] [WIDTH,HEIGHT]
#   default OUT.png: matrix.png beside MATRIX.html; default size: 1280,1000 (use a taller
#   window, e.g. 1280,4000, to see the whole page).
set -euo pipefail

html=${1:?usage: $0 MATRIX.html [OUT.png] [WIDTH,HEIGHT]}
[ -f "$html" ] || { echo "$0: no such file: $html" >&2; exit 2; }
html=$(realpath "$html")
out=${2:-$(dirname "$html")/matrix.png}
size=${3:-1280,1000}
chromium=$(command -v chromium || command -v chromium-browser || true)
[ -n "$chromium" ] || { echo "$0: chromium is not installed (apt-get install -y chromium)" >&2; exit 2; }

profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
# Nothing is fetched: the page is self-contained and Chromium's own network chatter is off.
timeout 120 "$chromium" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync \
  --user-data-dir="$profile" --screenshot="$out" --window-size="$size" "file://$html" 2>"$profile/stderr" \
  || { cat "$profile/stderr" >&2; exit 1; }
[ -s "$out" ] || { cat "$profile/stderr" >&2; echo "$0: no screenshot written" >&2; exit 1; }
echo "$out"
