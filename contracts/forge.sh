#!/usr/bin/env bash
# Runs the repository's pinned forge on this Foundry project from any working directory:
#   contracts/forge.sh build | test | inspect ... (same arguments as forge; relative paths are relative to contracts/)
# It sources deploy/env.sh, which exports FOUNDRY_SOLC (= TERN_SOLC, the absolute path of deploy/solc) so forge uses
# the offline solc-js wrapper, then runs forge inside contracts/.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../deploy/env.sh
source "$HERE/../deploy/env.sh"
cd "$HERE"
exec "$TERN_ROOT/node_modules/@foundry-rs/forge-linux-amd64/bin/forge" "$@"
