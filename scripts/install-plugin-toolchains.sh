#!/usr/bin/env bash
# Installs the toolchains needed to build the Wasm guests in plugins/ and examples/.
#
#   Go            nothing extra: `GOOS=wasip1 GOARCH=wasm` ships with Go >= 1.24.
#   C             Debian clang, lld, wasi-libc, libclang-rt-14-dev-wasm32
#                 (macOS: Homebrew llvm, lld, wasi-libc, wasi-runtimes)
#   WAT           wabt (wat2wasm, wasm-objdump), Debian or Homebrew
#   AssemblyScript  npm assemblyscript@0.28.20, pinned in sdk/assemblyscript/package-lock.json
#
# Idempotent: it installs only what is missing. As root it runs apt-get directly; otherwise it
# uses sudo if available, else prints the command to run and fails.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
AS_DIR="$ROOT/sdk/assemblyscript"

log() { printf 'install-plugin-toolchains: %s\n' "$*" >&2; }

# --- Homebrew (macOS) ---------------------------------------------------------------------------
# Homebrew's llvm (clang), lld (wasm-ld), wasi-libc (the sysroot), wasi-runtimes (compiler-rt
# for wasm32) and wabt. scripts/build-plugins.sh finds them under $(brew --prefix)/opt.
homebrew_toolchains() {
  local prefix need=()
  prefix="$(brew --prefix)"
  command -v wat2wasm >/dev/null 2>&1 || need+=(wabt)
  [ -x "$prefix/opt/llvm/bin/clang" ] || need+=(llvm)
  [ -x "$prefix/opt/lld/bin/wasm-ld" ] || [ -x "$prefix/opt/llvm/bin/wasm-ld" ] || need+=(lld)
  [ -d "$prefix/opt/wasi-libc/share/wasi-sysroot" ] || need+=(wasi-libc)
  [ -d "$prefix/opt/wasi-runtimes" ] || need+=(wasi-runtimes)
  if [ "${#need[@]}" -gt 0 ]; then
    log "installing Homebrew packages: ${need[*]}"
    brew install "${need[@]}"
  else
    log "Homebrew packages: present (llvm lld wasi-libc wasi-runtimes wabt)"
  fi
}

# --- Debian packages --------------------------------------------------------------------------
debian_toolchains() {
need_pkgs=()
command -v wat2wasm >/dev/null 2>&1 && command -v wasm-objdump >/dev/null 2>&1 || need_pkgs+=(wabt)
command -v clang >/dev/null 2>&1 || need_pkgs+=(clang)
command -v wasm-ld >/dev/null 2>&1 || need_pkgs+=(lld)
[ -f /usr/include/wasm32-wasi/stdlib.h ] || [ -d /usr/lib/wasm32-wasi ] || need_pkgs+=(wasi-libc)
# clang's WASI driver always links libclang_rt.builtins-wasm32.a.
if ! compgen -G '/usr/lib/llvm-*/lib/clang/*/lib/wasi/libclang_rt.builtins-wasm32.a' >/dev/null; then
  need_pkgs+=(libclang-rt-14-dev-wasm32)
fi

if [ "${#need_pkgs[@]}" -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then
    SUDO=()
  elif command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo)
  else
    log "missing Debian packages: ${need_pkgs[*]}"
    log "run as root: apt-get update && apt-get install -y --no-install-recommends ${need_pkgs[*]}"
    exit 1
  fi
  log "installing Debian packages: ${need_pkgs[*]}"
  "${SUDO[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}"
else
  log "Debian packages: present (wabt clang lld wasi-libc libclang-rt wasm32)"
fi
}

if command -v apt-get >/dev/null 2>&1; then
  debian_toolchains
elif command -v brew >/dev/null 2>&1; then
  homebrew_toolchains
else
  log "neither apt-get (Debian/Ubuntu) nor Homebrew (macOS) found: install these yourself, then run again:"
  log "  clang and lld with the wasm32 target, wasi-libc (a WASI sysroot), compiler-rt builtins for"
  log "  wasm32-wasi (libclang_rt.builtins-wasm32.a), wabt (wat2wasm, wasm-objdump), Node.js with npm."
  log "  Or run without plugins (scripts/run.sh --no-plugins needs only Go), or build in the container (Dockerfile)."
  exit 1
fi

# --- AssemblyScript (npm, pinned) -------------------------------------------------------------
# Node.js 20 is the project's one Node version (README, Dockerfile, tests):
# AssemblyScript 0.28 and the npm test runners need it; Debian 12's is 18.
if ! command -v npm >/dev/null 2>&1 || ! command -v node >/dev/null 2>&1; then
  log "npm not found: install Node.js 20 or newer with npm (https://nodejs.org, or NodeSource's Debian packages) to build AssemblyScript guests"
  exit 1
fi
node_major="$(node -p 'process.versions.node.split(".")[0]')"
if [ "$node_major" -lt 20 ]; then
  log "Node.js $(node --version) is too old: install Node.js 20 or newer (Debian 12's nodejs is 18)"
  exit 1
fi
want_as="$(node -e 'console.log(require(process.argv[1]).devDependencies.assemblyscript)' "$AS_DIR/package.json")"
have_as="$(node -e 'try{console.log(require(process.argv[1]).version)}catch(e){console.log("")}' \
  "$AS_DIR/node_modules/assemblyscript/package.json" 2>/dev/null || true)"
if [ "$have_as" != "$want_as" ]; then
  log "installing assemblyscript@$want_as in sdk/assemblyscript"
  if [ -f "$AS_DIR/package-lock.json" ]; then
    (cd "$AS_DIR" && npm ci --no-audit --no-fund --loglevel=error)
  else
    (cd "$AS_DIR" && npm install --no-audit --no-fund --loglevel=error)
  fi
else
  log "assemblyscript@$have_as: present"
fi

log "ok"
