#!/usr/bin/env bash
# The project's main job: a local Tern network on this machine: anvil, the contracts deployed, the marketplace
# (http://127.0.0.1:8080 unless --listen says otherwise), and an honest job played through it from posting to
# payout (training simulated for now), printing each state, balance and gas figure. --keep-running keeps the
# network up until Ctrl-C.
# Extra arguments go to tern-devnet (try --help). Works from any working directory.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
"$ROOT/deploy/toolchain.sh"
# shellcheck source=deploy/env.sh
source "$ROOT/deploy/env.sh"
exec cargo run --locked -p tern-deploy --bin tern-devnet -- "$@"
