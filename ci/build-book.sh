#!/usr/bin/env bash
# Builds the book (docs/) with mdBook into docs/book/; a warning (a page mdBook cannot render
# cleanly) fails the build. mdBook comes from crates.io, pinned, and is installed only when the
# pinned version is missing: about 13 minutes of build on the shared 2-core machine (2m20s of
# CPU), under a second after. Links and anchors are checked by tests/it/docs.rs.
set -euo pipefail
cd "$(dirname "$0")/.."

version=0.5.4
mdbook="${CARGO_HOME:-$HOME/.cargo}/bin/mdbook"
if ! "$mdbook" --version 2>/dev/null | grep -x "mdbook v$version" >/dev/null; then
  cargo install mdbook --version "$version" --locked --no-default-features --features search
fi
log=$(mktemp)
trap 'rm -f "$log"' EXIT
"$mdbook" build docs 2>&1 | tee "$log"
if grep -E '^ *(WARN|ERROR)' "$log" >/dev/null; then
  echo "ci/build-book.sh: mdBook warned; the book must build cleanly" >&2
  exit 1
fi
