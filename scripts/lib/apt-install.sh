# Sourced by the install-* scripts: apt_install NAME PROGRAM PACKAGE…
# installs the Debian PACKAGEs unless PROGRAM (a path or a command name) is
# already there. Idempotent. As root it runs apt-get directly; otherwise it
# uses sudo if available, else prints the command to run and fails.
apt_install() {
  local name="$1" program="$2"
  shift 2
  if [ -x "$program" ] || command -v "$program" >/dev/null 2>&1; then
    printf '%s: %s present\n' "$name" "$program" >&2
    return 0
  fi
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    if ! command -v sudo >/dev/null 2>&1; then
      printf '%s: %s is missing; run as root: apt-get update && apt-get install -y --no-install-recommends %s\n' \
        "$name" "$program" "$*" >&2
      return 1
    fi
    sudo=(sudo)
  fi
  printf '%s: installing Debian %s\n' "$name" "$*" >&2
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "$@"
}
