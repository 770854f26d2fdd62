#!/usr/bin/env bash
# Installs the toolchain a fresh machine needs; safe to run again (each step is skipped when already done).
#   1. npm packages pinned in package-lock.json (Foundry native binaries, solc-js, OpenZeppelin) -> node_modules/
#   2. checks that forge, anvil, cast and the solc wrapper (deploy/solc) run
#   3. Mesa's lavapipe Vulkan driver (apt package mesa-vulkan-drivers) for the wgpu tests on CPU; needs root,
#      skipped with a message otherwise (or when TERN_SKIP_APT=1)
#   4. Debian's Chromium (apt package chromium, /usr/bin/chromium) for the web page's browser test, driven by the
#      npm package playwright-core from step 1; root or sudo needed, skipped like step 3 (TERN_SKIP_APT=1)
#   5. moto, the S3-compatible test server of the marketplace's S3 blob store tests (PyPI, pinned), in a Python
#      virtual environment at .tern/tools/moto (gitignored); skipped with a message when python3 or its venv
#      module is missing or the install fails (or when TERN_SKIP_MOTO=1), and those tests skip outside CI
#   6. prints the versions
# Works from any working directory.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

say() { printf '[toolchain] %s\n' "$*"; }
die() { printf '[toolchain] ERROR: %s\n' "$*" >&2; exit 1; }

command -v node >/dev/null || die "node is not installed (Node.js 18+ with npm is required)"
command -v npm >/dev/null || die "npm is not installed"

# ---------------------------------------------------------------- 1. npm packages
# node_modules is current when every package the lockfile names is installed at the locked version.
lock_matches() {
  node - <<'JS'
const fs = require('fs');
const lock = JSON.parse(fs.readFileSync('package-lock.json', 'utf8'));
for (const [dir, meta] of Object.entries(lock.packages || {})) {
  if (dir === '' || meta.optional) continue;
  let installed;
  try {
    installed = JSON.parse(fs.readFileSync(`${dir}/package.json`, 'utf8'));
  } catch {
    console.log(`missing ${dir}`);
    process.exit(1);
  }
  if (meta.version && installed.version !== meta.version) {
    console.log(`${dir}: installed ${installed.version}, locked ${meta.version}`);
    process.exit(1);
  }
}
JS
}

if lock_matches >/dev/null 2>&1; then
  say "node_modules matches package-lock.json; skipping npm ci"
else
  reason="$(lock_matches || true)"
  say "node_modules is not current (${reason:-not installed}); running npm ci"
  npm ci --no-audit --no-fund
  lock_matches >/dev/null || die "node_modules still does not match package-lock.json after npm ci"
fi

# ---------------------------------------------------------------- 2. tools run
# shellcheck source=deploy/env.sh
source "$ROOT/deploy/env.sh"
for tool in forge anvil cast; do
  bin="$ROOT/node_modules/@foundry-rs/${tool}-linux-amd64/bin/${tool}"
  [[ -x "$bin" ]] || die "$tool binary missing or not executable"
  "$bin" --version >/dev/null 2>&1 || die "$tool does not run"
done
[[ -x "$TERN_SOLC" ]] || die "deploy/solc is not executable"
"$TERN_SOLC" --version >/dev/null || die "deploy/solc (solc-js wrapper) does not run"

# apt_install PACKAGE WHAT: installs a Debian package for WHAT (a phrase for messages), as root or through
# passwordless sudo. Returns 1, saying why, when it cannot (TERN_SKIP_APT=1, no apt-get, not root) or when the
# install fails; the callers go on without it.
apt_install() {
  local package="$1" what="$2" sudo=()
  if [[ "${TERN_SKIP_APT:-0}" == 1 ]]; then
    say "$package missing; TERN_SKIP_APT=1, skipping apt-get ($what will be unavailable)"
    return 1
  fi
  if ! command -v apt-get >/dev/null; then
    say "$package missing and apt-get not available: install it by hand for $what"
    return 1
  fi
  if [[ "$(id -u)" -ne 0 ]]; then
    if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
      sudo=(sudo -n)
    else
      say "$package missing and not root: skipping; as root run: apt-get update && apt-get install -y $package"
      return 1
    fi
  fi
  say "installing $package"
  if "${sudo[@]}" apt-get update -q && \
     "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$package"; then
    return 0
  fi
  say "WARNING: apt-get install $package failed; $what will be unavailable"
  return 1
}

# ---------------------------------------------------------------- 3. lavapipe (Vulkan on CPU)
lavapipe_icd() {
  local f
  for f in /usr/share/vulkan/icd.d/lvp_icd.*.json /etc/vulkan/icd.d/lvp_icd.*.json; do
    [[ -e "$f" ]] && { echo "$f"; return 0; }
  done
  return 1
}

if icd="$(lavapipe_icd)"; then
  say "lavapipe present ($icd)"
elif apt_install mesa-vulkan-drivers "the wgpu tests on CPU"; then
  icd="$(lavapipe_icd)" || die "mesa-vulkan-drivers installed but no lavapipe ICD (lvp_icd.*.json) found"
  say "lavapipe installed ($icd)"
fi

# ---------------------------------------------------------------- 4. Chromium (the web page's browser test)
# The test (marketplace/tests/it/browser.rs) skips without it, except in CI (CI set), where it fails.
if [[ -x /usr/bin/chromium ]]; then
  say "chromium present (/usr/bin/chromium)"
elif apt_install chromium "the browser test (it skips, or fails in CI)"; then
  [[ -x /usr/bin/chromium ]] || die "chromium installed but /usr/bin/chromium is missing"
  say "chromium installed"
fi

# ---------------------------------------------------------------- 5. moto (S3-compatible test server)
# Only the S3 service and the HTTP server's own packages (moto[server] would bring every AWS service's).
MOTO_VENV="$ROOT/.tern/tools/moto"
MOTO_VERSION=5.2.5
MOTO_PINS=("moto[s3]==$MOTO_VERSION" "flask==3.1.3" "flask-cors==6.0.5")
moto_ok() {
  "$MOTO_VENV/bin/python" -c "import flask, flask_cors, moto.server; assert moto.__version__ == '$MOTO_VERSION'" \
    >/dev/null 2>&1
}
if moto_ok; then
  say "moto $MOTO_VERSION present ($MOTO_VENV)"
elif [[ "${TERN_SKIP_MOTO:-0}" == 1 ]]; then
  say "moto missing; TERN_SKIP_MOTO=1, skipping (the S3 blob store tests will skip, or fail under CI=true)"
elif ! command -v python3 >/dev/null || ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
  say "moto missing and python3 with venv/ensurepip not available: skipping (the S3 blob store tests will skip)"
else
  say "installing moto $MOTO_VERSION into $MOTO_VENV"
  rm -rf "$MOTO_VENV"
  if python3 -m venv "$MOTO_VENV" && \
     "$MOTO_VENV/bin/pip" install --quiet --disable-pip-version-check "${MOTO_PINS[@]}" && moto_ok; then
    say "moto installed"
  else
    rm -rf "$MOTO_VENV"
    say "WARNING: installing moto failed; the S3 blob store tests will skip (or fail under CI=true)"
  fi
fi

# ---------------------------------------------------------------- 6. versions
say "versions:"
printf '  node   %s\n' "$(node --version)"
printf '  npm    %s\n' "$(npm --version)"
for tool in forge anvil cast; do
  printf '  %-6s %s\n' "$tool" "$("$tool" --version | sed -n "1s/^$tool Version: //p")"
done
printf '  solc   %s (solc-js via deploy/solc)\n' "$("$TERN_SOLC" --version | sed -n 's/^Version: //p')"
printf '  openzeppelin-contracts %s\n' "$(node -p "require('./node_modules/@openzeppelin/contracts/package.json').version")"
printf '  playwright-core %s\n' "$(node -p "require('./node_modules/playwright-core/package.json').version")"
if [[ -x /usr/bin/chromium ]]; then
  printf '  chromium %s\n' "$(/usr/bin/chromium --version 2>/dev/null | head -n1)"
else
  printf '  chromium (not installed)\n'
fi
if command -v cargo >/dev/null; then
  printf '  cargo  %s\n' "$(cargo --version)"
  printf '  rustc  %s\n' "$(rustc --version)"
fi
if icd="$(lavapipe_icd)"; then
  printf '  lavapipe %s\n' "$icd"
else
  printf '  lavapipe (not installed)\n'
fi
if moto_ok; then
  printf '  moto   %s (.tern/tools/moto)\n' "$MOTO_VERSION"
else
  printf '  moto   (not installed)\n'
fi
