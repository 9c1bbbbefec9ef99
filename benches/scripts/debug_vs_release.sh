#!/usr/bin/env bash
# A user's debug build against a release one: benches/student (a crate of its own that depends on
# twostage, with the guide's `[profile.dev.package."*"] opt-level = 3`), N alternating pairs.
# Usage: bash benches/scripts/debug_vs_release.sh [N]
set -euo pipefail
cd "$(dirname "$0")/../student"
N=${1:-4}
cargo build -q && cargo build -q --release
for i in $(seq 1 "$N"); do
  echo "debug   $(./target/debug/student)"
  echo "release $(./target/release/student)"
done
