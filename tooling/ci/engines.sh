#!/usr/bin/env bash
# Provisions the container engines corral's docker and podman sandboxes are tested against.
#
#   tooling/ci/engines.sh install   apt packages + a containers.conf podman can run with here
#   tooling/ci/engines.sh start     dockerd in the background (idempotent), wait for its socket
#   tooling/ci/engines.sh stop      stop the dockerd this script started
#   tooling/ci/engines.sh images    build the local test image for both engines (no registry needed)
#   tooling/ci/engines.sh status    print what answers
#
# The CI machine is a container itself: cgroup v1, no CAP_SYS_RESOURCE, no registry. Hence runc
# (crun fails there), no default ulimits above the host's hard limit, cgroupfs, and dockerd without
# iptables or a bridge.
set -euo pipefail

STATE_DIR="${CORRAL_ENGINES_STATE:-/var/tmp/corral-engines}"
DOCKERD_LOG="$STATE_DIR/dockerd.log"
DOCKERD_PID="$STATE_DIR/dockerd.pid"
DOCKER_SOCK="/var/run/docker.sock"
# The tag the integration tests and benches use (keep in sync with tooling/test-support).
TEST_IMAGE="${CORRAL_TEST_IMAGE:-corral-test:local}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"

log() { printf '[engines] %s\n' "$*" >&2; }
die() { printf '[engines] error: %s\n' "$*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

install_engines() {
  log "apt-get install docker.io podman runc uidmap"
  as_root env DEBIAN_FRONTEND=noninteractive NEEDRESTART_SUSPEND=1 apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive NEEDRESTART_SUSPEND=1 apt-get install -y -qq --no-install-recommends \
    docker.io podman runc uidmap catatonit tini fuse-overlayfs slirp4netns containernetworking-plugins git ca-certificates >/dev/null
  write_containers_conf
}

# podman's defaults fail here: crun needs cgroup v2 features, and the default nofile/nproc ulimits
# exceed the hard limits a container without CAP_SYS_RESOURCE may raise to.
write_containers_conf() {
  local nofile nproc conf=/etc/containers/containers.conf
  nofile="$(ulimit -Hn)"
  nproc="$(ulimit -Hu)"
  [ "$nofile" = unlimited ] && nofile=1048576
  [ "$nproc" = unlimited ] && nproc=4194304
  # This kernel refuses an nproc rlimit above pid_max, even below the hard limit.
  local pid_max
  pid_max="$(cat /proc/sys/kernel/pid_max 2>/dev/null || echo "$nproc")"
  [ "$nproc" -gt "$pid_max" ] && nproc="$pid_max"
  as_root mkdir -p /etc/containers
  as_root tee "$conf" >/dev/null <<CONF
# Written by corral's tooling/ci/engines.sh for CI machines (cgroup v1, no CAP_SYS_RESOURCE).
[containers]
default_ulimits = ["nofile=${nofile}:${nofile}", "nproc=${nproc}:${nproc}"]
log_driver = "k8s-file"

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF
  log "wrote $conf (runtime runc, nofile=$nofile, nproc=$nproc)"
}

docker_answers() {
  docker version --format '{{.Server.Version}}' >/dev/null 2>&1
}

start_docker() {
  if docker_answers; then
    log "dockerd already answers on $DOCKER_SOCK"
    return 0
  fi
  command -v dockerd >/dev/null || die "dockerd is not installed; run: $0 install"
  mkdir -p "$STATE_DIR"
  log "starting dockerd (log: $DOCKERD_LOG)"
  # No iptables and no bridge: the CI container may not touch the host's netfilter. Networks
  # `none` and `host` work; corral reports `bridge` as unavailable instead of faking it.
  setsid nohup dockerd --iptables=false --ip-masq=false --bridge=none \
    --host "unix://$DOCKER_SOCK" --pidfile "$DOCKERD_PID.engine" >"$DOCKERD_LOG" 2>&1 </dev/null &
  echo $! >"$DOCKERD_PID"
  for _ in $(seq 1 150); do
    if docker_answers; then
      log "dockerd $(docker version --format '{{.Server.Version}}') is up"
      return 0
    fi
    kill -0 "$(cat "$DOCKERD_PID")" 2>/dev/null || { tail -n 30 "$DOCKERD_LOG" >&2; die "dockerd exited; see $DOCKERD_LOG"; }
    sleep 0.2
  done
  tail -n 30 "$DOCKERD_LOG" >&2
  die "dockerd did not answer within 30 s; see $DOCKERD_LOG"
}

stop_docker() {
  [ -f "$DOCKERD_PID" ] || { log "no dockerd started by this script"; return 0; }
  local pid
  pid="$(cat "$DOCKERD_PID")"
  if kill -0 "$pid" 2>/dev/null; then
    log "stopping dockerd ($pid)"
    kill -TERM "$pid"
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
  fi
  rm -f "$DOCKERD_PID"
}

build_images() {
  local tar
  tar="$(mktemp -d)/rootfs.tar"
  "$ROOT/tooling/test-images/build-rootfs.sh" "$tar"
  if docker_answers; then
    log "docker import -> $TEST_IMAGE"
    docker import --change 'ENV PATH=/usr/local/bin:/usr/bin:/bin' --change 'CMD ["/bin/sh"]' "$tar" "$TEST_IMAGE" >/dev/null
  else
    log "dockerd does not answer: skipping the docker image (run: $0 start)"
  fi
  if command -v podman >/dev/null; then
    log "podman import -> $TEST_IMAGE"
    podman import -q --change 'ENV PATH=/usr/local/bin:/usr/bin:/bin' --change 'CMD ["/bin/sh"]' "$tar" "$TEST_IMAGE" >/dev/null
  fi
  rm -rf "$(dirname "$tar")"
}

status() {
  if docker_answers; then echo "docker: $(docker version --format '{{.Server.Version}}')"; else echo "docker: not answering"; fi
  if command -v podman >/dev/null && podman info --format '{{.Host.OCIRuntime.Name}}' >/dev/null 2>&1; then
    echo "podman: $(podman version --format '{{.Client.Version}}') runtime $(podman info --format '{{.Host.OCIRuntime.Name}}')"
  else
    echo "podman: not working"
  fi
}

case "${1:-}" in
  install) install_engines ;;
  conf) write_containers_conf ;;
  start) start_docker ;;
  stop) stop_docker ;;
  images) build_images ;;
  status) status ;;
  *) echo "usage: $0 install|start|stop|images|status" >&2; exit 2 ;;
esac
