#!/usr/bin/env bash
# The project's test command (what CI runs). It first runs deploy/toolchain.sh (idempotent), so it works on a
# fresh machine, then:
#   0. forge fmt --check in contracts/
#   1. forge test in contracts/ (profile: $FOUNDRY_PROFILE, default "ci"; e.g. FOUNDRY_PROFILE=deep deploy/test.sh)
#   2. contract artifact freshness: node contracts/scripts/artifacts.mjs --check (when that script exists)
#   3. deploy/fetch-data.sh: the real model, corpus and tokenizer vectors kernels' tests use (cached; set
#      TERN_SKIP_FETCH=1 to skip, and those tests skip with a message)
#   4. cargo test --workspace --locked --all-features (when Cargo.toml exists; `reference` builds the f32 trainer
#      that the integer trainer is checked against)
# Works from any working directory.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
"$ROOT/deploy/toolchain.sh"
# shellcheck source=deploy/env.sh
source "$ROOT/deploy/env.sh"

section() { printf '\n==================== %s ====================\n' "$*"; }

section "contracts: forge fmt --check"
(cd "$ROOT/contracts" && forge fmt --check)

export FOUNDRY_PROFILE="${FOUNDRY_PROFILE:-ci}"
section "contracts: forge test (profile ${FOUNDRY_PROFILE})"
(cd "$ROOT/contracts" && forge test)

if [[ -f "$ROOT/contracts/scripts/artifacts.mjs" ]]; then
  section "contracts: artifact freshness (artifacts.mjs --check)"
  node "$ROOT/contracts/scripts/artifacts.mjs" --check
else
  section "contracts: artifact freshness: skipped (no contracts/scripts/artifacts.mjs)"
fi

if [[ "${TERN_SKIP_FETCH:-0}" == 1 ]]; then
  section "data: fetch skipped (TERN_SKIP_FETCH=1)"
else
  section "data: deploy/fetch-data.sh"
  "$ROOT/deploy/fetch-data.sh"
fi

if [[ -f "$ROOT/Cargo.toml" ]]; then
  section "rust: cargo test --workspace --locked --all-features"
  cargo test --workspace --locked --all-features
else
  section "rust: skipped (no Cargo.toml)"
fi

section "all tests passed"
