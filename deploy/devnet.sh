#!/usr/bin/env bash
# The project's main job: a local Tern network on this machine. For now: anvil, the contracts deployed, and a
# scripted honest job from posting to payout, printing each state, balance and gas figure.
# Extra arguments go to tern-devnet (try --help). Works from any working directory.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
"$ROOT/deploy/toolchain.sh"
# shellcheck source=deploy/env.sh
source "$ROOT/deploy/env.sh"
exec cargo run --locked -p tern-deploy --bin tern-devnet -- "$@"
