#!/usr/bin/env bash
# Sets up everything corral's tests, benchmarks and demo need, on a fresh Debian/Ubuntu machine
# that has Node 20.19+, npm and git: system tools (bubblewrap, docker, podman), pnpm, the
# workspace's packages (including the real claude and codex CLIs), a build, and the container
# engines with their local test image. Idempotent. Needs root or sudo for apt-get and dockerd.
#
#   bash scripts/setup.sh            everything
#   SKIP_ENGINES=1 bash scripts/setup.sh   no docker/podman (their tests then skip outside CI)
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '[setup] %s\n' "$*" >&2; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

node_major=$(node -p 'process.versions.node.split(".")[0]')
node_minor=$(node -p 'process.versions.node.split(".")[1]')
if [ "$node_major" -lt 20 ] || { [ "$node_major" -eq 20 ] && [ "$node_minor" -lt 19 ]; }; then
  log "Node $(node --version) is too old: corral needs Node 20.19 or newer"; exit 1
fi

log "system packages: git bubblewrap procps; seccomp and a C compiler for the bwrap escape suite"
as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends git bubblewrap procps bsdutils util-linux ca-certificates seccomp gcc libc6-dev socat curl openssl openssh-server openssh-client iproute2 python3 >/dev/null

log "extra tools for the plugin-ecosystem tests (firejail)"
bash tooling/ci/extras.sh install

if [ "${SKIP_ENGINES:-}" != 1 ]; then
  log "container engines"
  bash tooling/ci/engines.sh install
fi

# The exact pnpm of package.json's packageManager (pnpm cannot switch versions itself here).
want_pnpm=$(node -p 'require("./package.json").packageManager.split("@")[1]')
if [ "$(pnpm --version 2>/dev/null || true)" != "$want_pnpm" ]; then
  log "pnpm $want_pnpm"
  as_root npm install -g --silent "pnpm@$want_pnpm"
fi

log "pnpm install"
pnpm install --frozen-lockfile
log "build"
pnpm build

if [ "${SKIP_ENGINES:-}" != 1 ]; then
  bash tooling/ci/engines.sh start
  bash tooling/ci/engines.sh images
fi
log "ready"
