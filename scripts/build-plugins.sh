#!/usr/bin/env bash
# Builds every Wasm guest in plugins/ and examples/ to a .wasm next to its source.
#
#   scripts/build-plugins.sh            build what is out of date
#   scripts/build-plugins.sh -f         rebuild everything
#   scripts/build-plugins.sh --clean    delete the built .wasm files
#   scripts/build-plugins.sh DIR...     only these targets (e.g. plugins/bearer-auth)
#
# Targets, found by what a directory holds:
#   go.mod          Go reactor   -> DIR/<name>.wasm   (GOOS=wasip1 GOARCH=wasm -buildmode=c-shared)
#   *.c             C reactor    -> DIR/<name>.wasm   (clang --target=wasm32-wasi -mexec-model=reactor)
#   asconfig.json   AssemblyScript -> DIR/<name>.wasm (asc from sdk/assemblyscript/node_modules)
#   *.wat           each file    -> DIR/<file>.wasm   (wat2wasm)
# where <name> is the directory's name. A target whose .wasm is newer than all of its sources
# (its own files, the SDK it uses and this script) is skipped. Toolchains: see
# scripts/install-plugin-toolchains.sh. Exits non-zero if any target fails.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SELF="$ROOT/scripts/build-plugins.sh"
ASC="$ROOT/sdk/assemblyscript/node_modules/.bin/asc"
CLANG_FLAGS=()
# macOS: Apple's clang has no WASI target; use Homebrew's llvm with the wasi-libc sysroot
# (scripts/install-plugin-toolchains.sh installs them).
if [ -z "${CLANG:-}" ] && command -v brew >/dev/null 2>&1 && [ -x "$(brew --prefix)/opt/llvm/bin/clang" ]; then
  BREW="$(brew --prefix)"
  CLANG="$BREW/opt/llvm/bin/clang"
  [ -d "$BREW/opt/wasi-libc/share/wasi-sysroot" ] && CLANG_FLAGS+=("--sysroot=$BREW/opt/wasi-libc/share/wasi-sysroot")
  [ -d "$BREW/opt/lld/bin" ] && PATH="$BREW/opt/lld/bin:$PATH" # wasm-ld
fi
CLANG="${CLANG:-clang}"
WAT2WASM="${WAT2WASM:-wat2wasm}"

force=0
clean=0
explicit=0
targets=()
for arg in "$@"; do
  case "$arg" in
    -f|--force) force=1 ;;
    --clean) clean=1 ;;
    -h|--help) sed -n '2,16p' "$SELF" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "build-plugins: unknown option $arg" >&2; exit 2 ;;
    *) explicit=1; targets+=("$(cd "$arg" 2>/dev/null && pwd || echo "$arg")") ;;
  esac
done

if [ "${#targets[@]}" -eq 0 ]; then
  for d in "$ROOT"/plugins/*/ "$ROOT"/examples/*/; do
    [ -d "$d" ] && targets+=("${d%/}")
  done
fi

rel() { printf '%s' "${1#"$ROOT"/}"; }

failures=0
built=0
skipped=0

fail() { echo "build-plugins: FAILED $*" >&2; failures=$((failures + 1)); }

# up_to_date OUT SOURCE...: true if OUT exists and no source file is newer.
up_to_date() {
  local out="$1"; shift
  [ "$force" -eq 0 ] || return 1
  [ -f "$out" ] || return 1
  local newer
  newer="$(find "$@" -type f -newer "$out" \
             \( -name '*.go' -o -name 'go.mod' -o -name 'go.sum' -o -name '*.c' -o -name '*.h' \
                -o -name '*.ts' -o -name 'asconfig.json' -o -name '*.wat' -o -name '*.sh' \) \
             -not -path '*/node_modules/*' -print -quit 2>/dev/null)"
  [ -z "$newer" ]
}

report() { # OUT
  local size
  size="$(wc -c <"$1" | tr -d ' ')"
  printf 'built %-48s %8s bytes\n' "$(rel "$1")" "$size"
  built=$((built + 1))
}

need() { # TOOL HINT
  command -v "$1" >/dev/null 2>&1 && return 0
  fail "$2: '$1' not found (run scripts/install-plugin-toolchains.sh)"
  return 1
}

build_go() {
  local dir="$1" out="$1/$(basename "$1").wasm"
  if up_to_date "$out" "$dir" "$ROOT/sdk/go" "$SELF"; then skipped=$((skipped + 1)); return; fi
  need go "$(rel "$dir")" || return
  if (cd "$dir" && GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -ldflags="-s -w" -trimpath \
        -o "$out.tmp" .); then
    mv -f "$out.tmp" "$out" && report "$out"
  else
    rm -f "$out.tmp"; fail "$(rel "$dir") (go build)"
  fi
}

build_c() {
  local dir="$1" out="$1/$(basename "$1").wasm"
  if up_to_date "$out" "$dir" "$ROOT/sdk/c" "$SELF"; then skipped=$((skipped + 1)); return; fi
  need "$CLANG" "$(rel "$dir")" || return
  local srcs=("$dir"/*.c)
  # -mexec-model=reactor: no main, an _initialize export that runs constructors.
  if "$CLANG" ${CLANG_FLAGS[@]+"${CLANG_FLAGS[@]}"} --target=wasm32-wasi -O2 -s -std=c11 -Wall -Wextra -Werror -mexec-model=reactor \
        -I"$ROOT/sdk/c" -o "$out.tmp" "${srcs[@]}"; then
    mv -f "$out.tmp" "$out" && report "$out"
  else
    rm -f "$out.tmp"; fail "$(rel "$dir") (clang)"
  fi
}

build_as() {
  local dir="$1" out="$1/$(basename "$1").wasm"
  if up_to_date "$out" "$dir" "$ROOT/sdk/assemblyscript/assembly" "$SELF"; then skipped=$((skipped + 1)); return; fi
  if [ ! -x "$ASC" ]; then
    fail "$(rel "$dir"): AssemblyScript compiler missing at $(rel "$ASC") (run scripts/install-plugin-toolchains.sh)"
    return
  fi
  # Options (entry file, runtime, abort handler) come from the target's asconfig.json.
  if (cd "$dir" && "$ASC" --config asconfig.json --target release -o "$out.tmp"); then
    mv -f "$out.tmp" "$out" && report "$out"
  else
    rm -f "$out.tmp"; fail "$(rel "$dir") (asc)"
  fi
}

build_wat() {
  local wat="$1" out="${1%.wat}.wasm"
  if up_to_date "$out" "$wat" "$SELF"; then skipped=$((skipped + 1)); return; fi
  need "$WAT2WASM" "$(rel "$wat")" || return
  if "$WAT2WASM" "$wat" -o "$out.tmp"; then
    mv -f "$out.tmp" "$out" && report "$out"
  else
    rm -f "$out.tmp"; fail "$(rel "$wat") (wat2wasm)"
  fi
}

for dir in "${targets[@]}"; do
  if [ ! -d "$dir" ]; then fail "$dir: no such directory"; continue; fi
  if [ "$clean" -eq 1 ]; then
    find "$dir" -name '*.wasm' -not -path '*/node_modules/*' -print -delete | sed "s|^$ROOT/|removed |"
    continue
  fi
  matched=0
  if [ -f "$dir/go.mod" ]; then build_go "$dir"; matched=1; fi
  if compgen -G "$dir/*.c" >/dev/null; then build_c "$dir"; matched=1; fi
  if [ -f "$dir/asconfig.json" ]; then build_as "$dir"; matched=1; fi
  for wat in "$dir"/*.wat; do
    [ -f "$wat" ] || continue
    build_wat "$wat"; matched=1
  done
  [ "$matched" -eq 1 ] || [ "$explicit" -eq 0 ] || fail "$(rel "$dir"): nothing to build"
done

[ "$clean" -eq 1 ] && exit 0
echo "build-plugins: $built built, $skipped up to date, $failures failed" >&2
[ "$failures" -eq 0 ]
