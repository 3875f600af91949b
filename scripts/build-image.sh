#!/usr/bin/env bash
# Builds the mastra-server runtime image without pulling anything: the same
# image the Dockerfile's last stage makes (binary, mastra.toml, example
# plugins, CA certificates, non-root user 65532, /data volume, port 4000,
# HEALTHCHECK), assembled with buildah on `scratch` from what is built here.
#
#   scripts/build-image.sh [IMAGE]     default IMAGE: localhost/mastra-server:latest
#
# It builds the Wasm plugins (scripts/build-plugins.sh) and a static binary
# (CGO_ENABLED=0: SQLite is the pure-Go modernc.org/sqlite), installs buildah
# from Debian when missing (as root, or with sudo), and prints the image
# reference as its LAST line of stdout. Progress goes to stderr.
#
# Environment:
#   BUILDAH_STORAGE_DRIVER  storage driver (default: buildah's own, overlay as
#                           root; set vfs where overlay cannot mount)
#
# Run the image: `podman run -p 4000:4000 IMAGE`, or `buildah push IMAGE
# docker-daemon:mastra-server:latest` then `docker run`. Or, without a
# runtime: `buildah from IMAGE` and `buildah run --isolation chroot --network
# host CONTAINER /usr/local/bin/mastra-server` (what tests/container does).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
IMAGE="${1:-localhost/mastra-server:latest}"
UID_GID=65532 # distroless's "nonroot", as in the Dockerfile

log() { printf 'build-image: %s\n' "$*" >&2; }

# --- buildah ---------------------------------------------------------------------------------
if ! command -v buildah >/dev/null 2>&1; then
  if [ "$(id -u)" -eq 0 ]; then
    SUDO=()
  elif command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo)
  else
    log "buildah not found; run as root: apt-get update && apt-get install -y --no-install-recommends buildah"
    exit 1
  fi
  log "installing buildah (Debian)"
  "${SUDO[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -qq --no-install-recommends buildah >&2
fi
# Docker format throughout: the OCI image format has no HEALTHCHECK.
export BUILDAH_FORMAT=docker
BUILDAH=(buildah)
[ -n "${BUILDAH_STORAGE_DRIVER:-}" ] && BUILDAH+=(--storage-driver "$BUILDAH_STORAGE_DRIVER")

CA=/etc/ssl/certs/ca-certificates.crt
if [ ! -s "$CA" ]; then
  log "$CA is missing: install the Debian package ca-certificates (the image needs it for HTTPS to model providers)"
  exit 1
fi

# --- what goes in ----------------------------------------------------------------------------
cd "$ROOT"
"$ROOT/scripts/build-plugins.sh" >&2

STAGE="$(mktemp -d /tmp/mastra-image.XXXXXX)"
ctr=""
cleanup() {
  [ -n "$ctr" ] && "${BUILDAH[@]}" rm "$ctr" >/dev/null 2>&1 || true
  rm -rf "$STAGE"
}
trap cleanup EXIT

# A git worktree or an exported tree is not stamped by Go itself: pass the
# revision (and a tag, when HEAD has one) for `mastra-server version`.
REVISION="$(git rev-parse HEAD 2>/dev/null || echo unknown)"
if [ "$REVISION" != unknown ] && ! git diff --quiet HEAD 2>/dev/null; then REVISION="$REVISION-dirty"; fi
VERSION="$(git describe --tags --exact-match 2>/dev/null || echo dev)"

log "go build (CGO_ENABLED=0, static)"
mkdir -p "$STAGE/root/usr/local/bin" "$STAGE/root/app" "$STAGE/root/etc/ssl/certs" "$STAGE/root/tmp" "$STAGE/owned/data"
CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=$VERSION -X main.revision=$REVISION" \
  -o "$STAGE/root/usr/local/bin/mastra-server" ./cmd/mastra-server

cp mastra.toml "$STAGE/root/app/"
# The plugins mastra.toml names, at the same relative paths.
while IFS= read -r wasm; do
  mkdir -p "$STAGE/root/app/$(dirname "$wasm")"
  cp "$wasm" "$STAGE/root/app/$wasm"
done < <(sed -nE 's/^[[:space:]]*(module|wasm)[[:space:]]*=[[:space:]]*"([^"]+\.wasm)".*/\2/p' mastra.toml | sort -u)
cp "$CA" "$STAGE/root/etc/ssl/certs/ca-certificates.crt"
cat >"$STAGE/root/etc/passwd" <<EOF
root:x:0:0:root:/root:/sbin/nologin
nonroot:x:$UID_GID:$UID_GID:nonroot:/home/nonroot:/sbin/nologin
EOF
cat >"$STAGE/root/etc/group" <<EOF
root:x:0:
nonroot:x:$UID_GID:
EOF
chmod 1777 "$STAGE/root/tmp"

# --- the image -------------------------------------------------------------------------------
log "buildah from scratch"
ctr="$("${BUILDAH[@]}" from scratch)"
"${BUILDAH[@]}" copy "$ctr" "$STAGE/root" / >/dev/null
# /data belongs to the server's user, so SQLite can write there (Docker copies
# this ownership into a new named volume).
"${BUILDAH[@]}" copy --chown "$UID_GID:$UID_GID" "$ctr" "$STAGE/owned" / >/dev/null
"${BUILDAH[@]}" config \
  --user "$UID_GID:$UID_GID" \
  --workingdir /app \
  --port 4000 \
  --volume /data \
  --env MASTRA_MEMORY__SQLITE_PATH=/data/mastra.db \
  --env MASTRA_PLUGINS__CACHE_DIR=/data/wasm-cache \
  --env MASTRA_SERVER__METRICS__LISTEN=:9090 \
  --env SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \
  --entrypoint '["/usr/local/bin/mastra-server"]' \
  --cmd serve \
  --stop-signal SIGTERM \
  --healthcheck 'CMD /usr/local/bin/mastra-server healthcheck' \
  --healthcheck-interval 30s --healthcheck-timeout 5s --healthcheck-start-period 10s --healthcheck-retries 3 \
  --label org.opencontainers.image.title=mastra-server \
  --label org.opencontainers.image.revision="$REVISION" \
  --label org.opencontainers.image.version="$VERSION" \
  "$ctr"
old="$("${BUILDAH[@]}" images --noheading --format '{{.ID}}' "$IMAGE" 2>/dev/null || true)"
id="$("${BUILDAH[@]}" commit --quiet --format docker --rm "$ctr" "$IMAGE")"
ctr=""
# The image this one replaces would linger untagged; remove it unless a
# container still uses it.
if [ -n "$old" ] && [ "${id#"$old"}" = "$id" ]; then
  "${BUILDAH[@]}" rmi "$old" >/dev/null 2>&1 || true
fi
size="$("${BUILDAH[@]}" images --noheading --format '{{.Size}}' "$IMAGE" | head -1)"
log "built $IMAGE ($size, revision $REVISION)"
echo "$IMAGE"
