#!/usr/bin/env bash
# Provisions the extra tools the plugin-ecosystem tests need (the example firejail plugin, the
# packaging checks). Called by scripts/setup.sh / .ci/run next to engines.sh.
#
#   tooling/ci/extras.sh install   apt packages (firejail)
#   tooling/ci/extras.sh status    print what answers
set -euo pipefail

log() { printf '[extras] %s\n' "$*" >&2; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

case "${1:-}" in
  install)
    log "apt-get install firejail"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends firejail >/dev/null
    ;;
  status)
    if command -v firejail >/dev/null; then
      firejail --version | head -1
      (cd / && firejail --quiet --noprofile --deterministic-shutdown --net=none -- true) && echo "firejail: a probe sandbox starts" || echo "firejail: a probe sandbox does NOT start"
    else
      echo "firejail: not installed"
    fi
    ;;
  *)
    echo "usage: $0 install|status" >&2
    exit 2
    ;;
esac
