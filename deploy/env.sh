# shellcheck shell=bash
# Source this file (bash or zsh) to use the repository's pinned toolchain:
#   source deploy/env.sh
# It puts the native forge/anvil/cast binaries (npm @foundry-rs/*-linux-amd64, installed by deploy/toolchain.sh)
# first on PATH, and exports
#   TERN_SOLC     absolute path of deploy/solc, the offline solc-js wrapper forge compiles with
#   FOUNDRY_SOLC  the same path: forge's environment override of `solc` in contracts/foundry.toml, so forge finds the
#                 compiler from any working directory (foundry.toml's relative `solc = "../deploy/solc"` only
#                 resolves when forge runs inside contracts/).
# Paths are computed at run time from this file's location; nothing machine-specific is stored.

_tern_env_src="${BASH_SOURCE[0]:-$0}"
TERN_ROOT="$(cd "$(dirname "$_tern_env_src")/.." && pwd)"
export TERN_ROOT
unset _tern_env_src

for _tern_tool in cast anvil forge; do
  _tern_bin="$TERN_ROOT/node_modules/@foundry-rs/${_tern_tool}-linux-amd64/bin"
  case ":${PATH}:" in
    *":${_tern_bin}:"*) ;;
    *) PATH="${_tern_bin}:${PATH}" ;;
  esac
done
export PATH
unset _tern_tool _tern_bin

TERN_SOLC="$TERN_ROOT/deploy/solc"
FOUNDRY_SOLC="$TERN_SOLC"
export TERN_SOLC FOUNDRY_SOLC
