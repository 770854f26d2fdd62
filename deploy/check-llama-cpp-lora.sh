#!/usr/bin/env bash
# Checks that the GGUF LoRA adapter `worker finetune` exports is loaded and applied by real llama.cpp.
#
#   1. builds the worker (cargo, release) and llama.cpp's llama-perplexity and llama-export-lora (CPU only, from the
#      vendor/llama.cpp tree of the llama-cpp-python sdist that deploy/fetch-data.sh already downloads);
#   2. `worker convert --quant int8-q8_0 --type q8_0`: the base as a Q8_0 GGUF that llama.cpp reads, holding exactly
#      the weights Tern trains on with `--quant int8-q8_0` (Q8_0 tensors are used as stored);
#   3. `worker finetune` on that file, on the Shakespeare corpus without one held-out play;
#   4. perplexity of the base and of base + adapter on a slice of the held-out play:
#      - Tern: `worker eval` (non-overlapping windows of 128 inputs, every target scored from position 0);
#      - llama.cpp, the same way: a small scorer built here against libllama (tern-window-ppl, source below) that
#        cuts the tokens into the same windows and applies the adapter with llama_adapter_lora_init, so its numbers
#        should equal Tern's up to int8 arithmetic and the one window Tern's split keeps for training;
#      - llama.cpp's own `llama-perplexity` with and without `--lora` (it scores only the second half of each
#        128-token chunk, positions 64-127, where a short adapter gains much less than over all positions);
#      then `llama-export-lora` and the merged model's perplexity.
#
# Fails (exit 1) if llama.cpp does not load every adapter tensor, if the adapter does not lower llama-perplexity's
# or the window scorer's perplexity, if the window scorer's perplexities differ from Tern's by more than
# $PPL_TOLERANCE (relative, default 0.03), or if llama-export-lora fails.
#
# Needs: cargo, a C/C++ compiler, cmake (e.g. `python3 -m pip install --user cmake`), python3, and
# deploy/fetch-data.sh's cache (model, corpus, llama-cpp-python sdist).
#
# Settings (environment):
#   TERN_CACHE_DIR        cache directory [<repo>/.tern/cache]
#   TERN_MODEL            source model [$TERN_CACHE_DIR/models/SmolLM2-135M-Instruct.Q4_1.gguf]
#   TERN_LORA_CHECK_STEPS training steps [40]
#   TERN_THREADS          threads for the worker and llama.cpp [all cores]
#   BUILD_JOBS            parallel compile jobs for cargo and cmake [2]
#   HELDOUT_PLAY          corpus play held out of training [hamlet]; its *_gut.txt lines 41-1240 are evaluated
#   CMAKE                 the cmake to use [cmake on PATH]
#   PPL_TOLERANCE         largest relative difference between Tern's and llama.cpp's window perplexities [0.03]
# Outputs: $TERN_CACHE_DIR/llama-cpp-lora-check/ (run, adapter, logs); llama.cpp build in
# $TERN_CACHE_DIR/build/llama.cpp (reused while the sdist is unchanged).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${TERN_CACHE_DIR:-$ROOT/.tern/cache}"

say() { printf '[check-llama-cpp-lora] %s\n' "$*"; }
die() { printf '[check-llama-cpp-lora] ERROR: %s\n' "$*" >&2; exit 1; }

[[ -d "$CACHE" ]] || die "cache directory $CACHE does not exist: run deploy/fetch-data.sh first (or set TERN_CACHE_DIR)"
CACHE="$(cd "$CACHE" && pwd)"
MODEL="${TERN_MODEL:-$CACHE/models/SmolLM2-135M-Instruct.Q4_1.gguf}"
CORPUS="$CACHE/corpora/shakespeare"
STEPS="${TERN_LORA_CHECK_STEPS:-40}"
JOBS="${BUILD_JOBS:-2}"
THREADS="${TERN_THREADS:-0}"
[[ "$THREADS" == 0 ]] && THREADS="$(nproc)"
PLAY="${HELDOUT_PLAY:-hamlet}"
CMAKE="${CMAKE:-cmake}"
TOLERANCE="${PPL_TOLERANCE:-0.03}"
WORK="$CACHE/llama-cpp-lora-check"
BUILD_ROOT="$CACHE/build/llama.cpp"
SEQ_LEN=128

# ---------------------------------------------------------------- prerequisites
[[ -f "$MODEL" ]] || die "model $MODEL not found: run deploy/fetch-data.sh (or set TERN_MODEL)"
[[ -d "$CORPUS" ]] || die "corpus $CORPUS not found: run deploy/fetch-data.sh"
HELDOUT_SRC="$CORPUS/${PLAY}_gut.txt"
[[ -f "$HELDOUT_SRC" ]] || die "held-out play $HELDOUT_SRC not found: set HELDOUT_PLAY to a play in $CORPUS"
shopt -s nullglob
sdists=("$CACHE"/downloads/llama_cpp_python-*.tar.gz)
shopt -u nullglob
((${#sdists[@]} > 0)) || die "no llama_cpp_python-*.tar.gz in $CACHE/downloads: run deploy/fetch-data.sh"
SDIST="${sdists[-1]}"
command -v cargo >/dev/null || die "cargo not found: run deploy/toolchain.sh and source deploy/env.sh"
command -v "$CMAKE" >/dev/null \
  || die "cmake not found: install it from PyPI (python3 -m pip install --user cmake) or set CMAKE=/path/to/cmake"
command -v c++ >/dev/null || die "no C++ compiler (c++) on PATH: install g++ or clang"
command -v python3 >/dev/null || die "python3 not found (used to read JSON)"

# ---------------------------------------------------------------- worker
say "building the worker (cargo build --release -p tern-worker)"
(cd "$ROOT" && nice -n 10 cargo build --release --locked -p tern-worker -j "$JOBS") \
  || die "cargo build of tern-worker failed"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
WORKER="$TARGET_DIR/release/worker"
[[ -x "$WORKER" ]] || die "$WORKER was not built"

# ---------------------------------------------------------------- llama.cpp
SDIST_SHA="$(sha256sum "$SDIST" | cut -d' ' -f1)"
PPL="$BUILD_ROOT/build/bin/llama-perplexity"
EXPORT="$BUILD_ROOT/build/bin/llama-export-lora"
if [[ -x "$PPL" && -x "$EXPORT" && "$(cat "$BUILD_ROOT/.sdist-sha256" 2>/dev/null)" == "$SDIST_SHA" ]]; then
  say "llama.cpp already built in $BUILD_ROOT"
else
  say "extracting vendor/llama.cpp from $(basename "$SDIST")"
  rm -rf "$BUILD_ROOT"
  mkdir -p "$BUILD_ROOT"
  top="$(basename "$SDIST" .tar.gz)" # an sdist's files lie under <name>-<version>/
  tar xzf "$SDIST" -C "$BUILD_ROOT" --strip-components=3 "$top/vendor/llama.cpp" \
    || die "could not extract $top/vendor/llama.cpp from $SDIST"
  [[ -f "$BUILD_ROOT/src/llama-adapter.cpp" ]] || die "$SDIST holds no llama.cpp source tree"
  mkdir -p "$BUILD_ROOT/build"
  say "configuring llama.cpp (CPU, Release)"
  nice -n 10 "$CMAKE" -S "$BUILD_ROOT" -B "$BUILD_ROOT/build" -DCMAKE_BUILD_TYPE=Release \
    -DLLAMA_CURL=OFF -DLLAMA_OPENSSL=OFF -DGGML_NATIVE=ON -DBUILD_SHARED_LIBS=OFF \
    -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF -DLLAMA_BUILD_APP=OFF \
    >"$BUILD_ROOT/configure.log" 2>&1 || die "cmake configure failed: see $BUILD_ROOT/configure.log"
  say "building llama-perplexity and llama-export-lora (-j $JOBS; several minutes)"
  start=$SECONDS
  nice -n 10 "$CMAKE" --build "$BUILD_ROOT/build" -j "$JOBS" --target llama-perplexity llama-export-lora \
    >"$BUILD_ROOT/build.log" 2>&1 || die "llama.cpp build failed: see $BUILD_ROOT/build.log"
  say "llama.cpp built in $((SECONDS - start)) s"
  echo "$SDIST_SHA" >"$BUILD_ROOT/.sdist-sha256"
fi

# The window scorer: Tern's evaluation (tokens without BOS, EOS appended, cut into non-overlapping windows of
# seq + 1; every target of a window scored from position 0) on llama.cpp's forward pass, for the base and then with
# the adapter applied at scale 1. Prints "<label> … ppl=<x> | loss per position bucket".
SCORER_SRC="$BUILD_ROOT/tern-window-ppl.cpp"
SCORER="$BUILD_ROOT/build/bin/tern-window-ppl"
cat >"$SCORER_SRC" <<'CPP'
#include "llama.h"
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

static void score(llama_context * ctx, const std::vector<llama_token> & toks, int seq, int n_vocab, const char * label) {
    const int n_win = (int) (toks.size() / (seq + 1));
    const int nb = 4;
    std::vector<double> bsum(nb, 0.0);
    std::vector<long> bcnt(nb, 0);
    double sum = 0;
    long cnt = 0;
    llama_batch batch = llama_batch_init(seq, 0, 1);
    for (int w = 0; w < n_win; ++w) {
        const llama_token * t = toks.data() + (size_t) w * (seq + 1);
        llama_memory_clear(llama_get_memory(ctx), true);
        batch.n_tokens = seq;
        for (int i = 0; i < seq; ++i) {
            batch.token[i] = t[i];
            batch.pos[i] = i;
            batch.n_seq_id[i] = 1;
            batch.seq_id[i][0] = 0;
            batch.logits[i] = 1;
        }
        if (llama_decode(ctx, batch) != 0) {
            fprintf(stderr, "llama_decode failed\n");
            exit(1);
        }
        for (int i = 0; i < seq; ++i) {
            const float * lg = llama_get_logits_ith(ctx, i);
            double mx = lg[0];
            for (int v = 1; v < n_vocab; ++v) mx = std::max(mx, (double) lg[v]);
            double z = 0;
            for (int v = 0; v < n_vocab; ++v) z += std::exp(lg[v] - mx);
            const double nll = -(lg[t[i + 1]] - mx - std::log(z));
            sum += nll;
            ++cnt;
            bsum[i * nb / seq] += nll;
            ++bcnt[i * nb / seq];
        }
    }
    llama_batch_free(batch);
    printf("%s windows=%d tokens=%ld loss=%.5f ppl=%.4f | loss by position:", label, n_win, cnt, sum / cnt, std::exp(sum / cnt));
    for (int b = 0; b < nb; ++b) printf(" %d-%d=%.4f", b * seq / nb, (b + 1) * seq / nb - 1, bsum[b] / bcnt[b]);
    printf("\n");
    fflush(stdout);
}

int main(int argc, char ** argv) {
    if (argc != 6) {
        fprintf(stderr, "usage: %s model.gguf text.txt seq_len threads adapter.gguf\n", argv[0]);
        return 2;
    }
    const int seq = atoi(argv[3]);
    llama_backend_init();
    llama_model * model = llama_model_load_from_file(argv[1], llama_model_default_params());
    if (!model) return 1;
    llama_context_params cp = llama_context_default_params();
    cp.n_ctx = 2 * seq;
    cp.n_batch = cp.n_ubatch = seq;
    cp.n_threads = cp.n_threads_batch = atoi(argv[4]);
    llama_context * ctx = llama_init_from_model(model, cp);
    if (!ctx) return 1;
    const llama_vocab * vocab = llama_model_get_vocab(model);
    std::ifstream f(argv[2]);
    std::stringstream ss;
    ss << f.rdbuf();
    const std::string text = ss.str();
    std::vector<llama_token> toks(text.size() + 16);
    const int n = llama_tokenize(vocab, text.data(), (int) text.size(), toks.data(), (int) toks.size(), false, false);
    if (n < 0) return 1;
    toks.resize(n);
    toks.push_back(llama_vocab_eos(vocab));
    const int n_vocab = llama_vocab_n_tokens(vocab);
    score(ctx, toks, seq, n_vocab, "base");
    llama_adapter_lora * adapter = llama_adapter_lora_init(model, argv[5]);
    if (!adapter) {
        fprintf(stderr, "the adapter failed to load\n");
        return 1;
    }
    float scale = 1.0f;
    if (llama_set_adapters_lora(ctx, &adapter, 1, &scale) != 0) {
        fprintf(stderr, "llama_set_adapters_lora failed\n");
        return 1;
    }
    score(ctx, toks, seq, n_vocab, "adapter");
    return 0;
}
CPP
LIBS="$BUILD_ROOT/build"
c++ -O2 -std=c++17 "$SCORER_SRC" -I "$BUILD_ROOT/include" -I "$BUILD_ROOT/ggml/include" -o "$SCORER" \
  "$LIBS/src/libllama.a" "$LIBS/ggml/src/libggml.a" "$LIBS/ggml/src/libggml-cpu.a" "$LIBS/ggml/src/libggml-base.a" \
  -fopenmp -lpthread -ldl >"$BUILD_ROOT/scorer-build.log" 2>&1 \
  || die "building the window scorer against libllama failed: see $BUILD_ROOT/scorer-build.log"

# ---------------------------------------------------------------- data
rm -rf "$WORK"
mkdir -p "$WORK/train"
for f in "$CORPUS"/*.txt; do
  case "$(basename "$f")" in
    "${PLAY}"_* | metadata.txt) ;;
    *) cp "$f" "$WORK/train/" ;; # copies: the worker reads regular files only
  esac
done
HELDOUT="$WORK/heldout.txt"
sed -n '41,1240p' "$HELDOUT_SRC" >"$HELDOUT"
[[ -s "$HELDOUT" ]] || die "the held-out slice of $HELDOUT_SRC is empty"
say "training on $(find "$WORK/train" -name "*.txt" | wc -l) files; held out: $(basename "$HELDOUT_SRC") lines 41-1240 ($(wc -c <"$HELDOUT") bytes)"

# ---------------------------------------------------------------- base, adapter
BASE="$WORK/base-q8_0.gguf"
say "worker convert: the int8-q8_0 base as a Q8_0 GGUF"
"$WORKER" convert --model "$MODEL" --quant int8-q8_0 --type q8_0 --threads "$THREADS" -o "$BASE" \
  >"$WORK/convert.log" 2>&1 || die "worker convert failed: see $WORK/convert.log"

RUN="$WORK/run"
say "worker finetune: $STEPS steps, seq $SEQ_LEN, batch 4, int8-q8_0 base"
start=$SECONDS
nice -n 10 "$WORKER" finetune --model "$BASE" --quant int8-q8_0 --dataset "$WORK/train" --steps "$STEPS" \
  --seq-len "$SEQ_LEN" --batch-size 4 --threads "$THREADS" -o "$RUN" --no-progress \
  >"$WORK/finetune.log" 2>&1 || die "worker finetune failed: see $WORK/finetune.log"
say "trained in $((SECONDS - start)) s"
ADAPTER="$RUN/adapter.gguf"
[[ -f "$ADAPTER" ]] || die "worker finetune wrote no $ADAPTER"
# GGUF header: magic, u32 version, u64 tensor count.
EXPECTED_TENSORS="$(od -An -t u8 -j 8 -N 8 "$ADAPTER" | tr -d ' ')"

# ---------------------------------------------------------------- Tern's perplexities on the held-out slice
say "worker eval on the held-out slice"
# One example per batch and a 990/1000 validation share: all but one window of the slice is evaluated.
nice -n 10 "$WORKER" eval --checkpoint "$RUN" --dataset "$HELDOUT" --batch-size 1 --validation-per-mille 990 \
  --val-batches 0 --threads "$THREADS" --json >"$WORK/eval.json" 2>"$WORK/eval.log" \
  || die "worker eval failed: see $WORK/eval.log"
read -r TERN_BASE TERN_ADAPTER TERN_TOKENS < <(python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
print(r["base"]["perplexity"], r["adapter"]["perplexity"], r["base"]["tokens"])' "$WORK/eval.json") \
  || die "could not read the perplexities in $WORK/eval.json"
read -r VAL_BASE VAL_ADAPTER < <(python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
print(r["val_base"]["perplexity"], r["val_adapter"]["perplexity"])' "$RUN/summary.json") \
  || die "could not read the perplexities in $RUN/summary.json"

# ---------------------------------------------------------------- llama.cpp
# perplexity <log> <model> [args…]: llama-perplexity's final estimate.
perplexity() {
  local log="$1" model="$2"
  shift 2
  nice -n 10 "$PPL" -m "$model" -f "$HELDOUT" -c "$SEQ_LEN" -b "$SEQ_LEN" -t "$THREADS" "$@" >"$log" 2>&1 \
    || die "llama-perplexity failed (exit $?): see $log"
  local v
  v="$(sed -n 's/.*Final estimate: PPL = \([0-9.]*\).*/\1/p' "$log")"
  [[ -n "$v" ]] || die "no final perplexity in $log"
  echo "$v"
}

say "llama-perplexity: base"
LLAMA_BASE="$(perplexity "$WORK/llama-base.log" "$BASE")"
say "llama-perplexity: base + --lora adapter.gguf"
LLAMA_ADAPTER="$(perplexity "$WORK/llama-lora.log" "$BASE" --lora "$ADAPTER" -lv 4)"
LOADED_LINE="$(grep -E 'loaded [0-9]+ tensors from lora file' "$WORK/llama-lora.log" || true)"
[[ -n "$LOADED_LINE" ]] || die "llama.cpp did not report loading the adapter: see $WORK/llama-lora.log"
LOADED="$(sed -E 's/.*loaded ([0-9]+) tensors from lora file.*/\1/' <<<"$LOADED_LINE")"
[[ "$LOADED" == "$EXPECTED_TENSORS" ]] \
  || die "llama.cpp loaded $LOADED adapter tensors, the file holds $EXPECTED_TENSORS: see $WORK/llama-lora.log"

say "tern-window-ppl: Tern's windows on llama.cpp, base and base + adapter"
nice -n 10 "$SCORER" "$BASE" "$HELDOUT" "$SEQ_LEN" "$THREADS" "$ADAPTER" >"$WORK/window.out" 2>"$WORK/window.log" \
  || die "the window scorer failed: see $WORK/window.log"
grep -q 'loaded [0-9]* tensors from lora file' "$WORK/window.log" \
  || die "the window scorer's llama.cpp did not load the adapter: see $WORK/window.log"
WIN_BASE="$(sed -n 's/^base .* ppl=\([0-9.]*\) .*/\1/p' "$WORK/window.out")"
WIN_ADAPTER="$(sed -n 's/^adapter .* ppl=\([0-9.]*\) .*/\1/p' "$WORK/window.out")"
[[ -n "$WIN_BASE" && -n "$WIN_ADAPTER" ]] || die "no perplexities in $WORK/window.out"

say "llama-export-lora: merging the adapter into the base"
MERGED="$WORK/merged.gguf"
nice -n 10 "$EXPORT" -m "$BASE" --lora "$ADAPTER" -o "$MERGED" -t "$THREADS" >"$WORK/export-lora.log" 2>&1 \
  || die "llama-export-lora failed: see $WORK/export-lora.log"
MERGED_COUNT="$(sed -n 's/.*merged \([0-9]*\) tensors with lora adapters.*/\1/p' "$WORK/export-lora.log")"
say "llama-perplexity: merged model"
LLAMA_MERGED="$(perplexity "$WORK/llama-merged.log" "$MERGED")"

# ---------------------------------------------------------------- report
echo
echo "llama.cpp adapter load: $(sed -E 's/^[0-9.]+ [A-Z] //' <<<"$LOADED_LINE") (the file holds $EXPECTED_TENSORS)"
echo "llama-export-lora: merged ${MERGED_COUNT:-?} tensors"
echo "window scorer, loss by position (base, then adapter):"
sed -n 's/.*| loss by position:/ /p' "$WORK/window.out"
set +e
python3 - "$TERN_BASE" "$TERN_ADAPTER" "$TERN_TOKENS" "$WIN_BASE" "$WIN_ADAPTER" "$LLAMA_BASE" "$LLAMA_ADAPTER" \
  "$LLAMA_MERGED" "$VAL_BASE" "$VAL_ADAPTER" "$TOLERANCE" <<'PY'
import sys
tb, ta, tt, wb, wa, lb, la, lm, vb, va, tol = sys.argv[1:]
tb, ta, wb, wa, lb, la, lm, vb, va, tol = map(float, (tb, ta, wb, wa, lb, la, lm, vb, va, tol))
rows = [
    ("Tern, the run's validation split", vb, va, ""),
    ("Tern worker eval, held-out windows", tb, ta, f"{tt} tokens"),
    ("llama.cpp, same windows (tern-window-ppl)", wb, wa, ""),
    ("llama.cpp llama-perplexity --lora", lb, la, "positions 64-127"),
    ("llama.cpp llama-perplexity, merged", lb, lm, "llama-export-lora"),
]
print(f"\n{'perplexity':42s} {'base':>9s} {'+adapter':>9s} {'ratio':>7s}")
for name, b, a, note in rows:
    print(f"{name:42s} {b:9.3f} {a:9.3f} {a / b:7.3f}  {note}")
print()
failures = []
if not la < lb:
    failures.append(f"the adapter does not lower llama-perplexity ({lb} -> {la})")
if not wa < wb:
    failures.append(f"the adapter does not lower llama.cpp's window perplexity ({wb} -> {wa})")
for what, t, w in (("base", tb, wb), ("base + adapter", ta, wa)):
    if abs(w / t - 1) > tol:
        failures.append(f"{what}: llama.cpp's window perplexity {w:.3f} differs from Tern's {t:.3f} by more than {tol:.0%}")
for f in failures:
    print(f"[check-llama-cpp-lora] FAIL: {f}", file=sys.stderr)
sys.exit(1 if failures else 0)
PY
verdict=$?
set -e
((verdict == 0)) || exit 1
say "OK: llama.cpp loaded all $LOADED adapter tensors, the adapter lowers its perplexity, and on Tern's windows it matches Tern's evaluation within $TOLERANCE"
