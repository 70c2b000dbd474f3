#!/usr/bin/env bash
# A second, real container host for the remote-engine tests: its own network namespace (a veth
# pair, host 10.231.0.1 / remote 10.231.0.2), its own mount namespace (private /run, /tmp, /var/tmp,
# /work, /home and this checkout, so no repository of this machine is visible there) and data roots, with
#   - a dockerd on tcp://10.231.0.2:2376 with TLS (CA, server and client certs made here by openssl),
#   - an sshd on 10.231.0.2:22 (root, a key made here), so ssh://root@10.231.0.2 works,
#   - a podman system service on /run/podman/podman.sock (reached through that sshd).
#
#   tooling/ci/remote-engine.sh start   provision and start (idempotent), load the test image
#   tooling/ci/remote-engine.sh stop    stop everything this script started, remove the netns
#   tooling/ci/remote-engine.sh env     print the CORRAL_REMOTE_* variables the tests read
#   tooling/ci/remote-engine.sh status  print what answers
#
# Root only (namespaces, veth). The local engines are untouched: the remote dockerd has its own
# sockets, exec root, data root and cgroup parent; podman its own storage (bound over
# /var/lib/containers inside the mount namespace only).
set -euo pipefail

STATE="${CORRAL_REMOTE_STATE:-/var/lib/corral-remote}"
NETNS=corral-remote
HOST_IP=10.231.0.1
REMOTE_IP=10.231.0.2
TEST_IMAGE="${CORRAL_TEST_IMAGE:-corral-test:local}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

log() { printf '[remote-engine] %s\n' "$*" >&2; }
die() { printf '[remote-engine] error: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "needs root (network and mount namespaces)"

remote_docker() {
  docker --host "tcp://$REMOTE_IP:2376" --tlsverify --tlscacert "$STATE/client/ca.pem" \
    --tlscert "$STATE/client/cert.pem" --tlskey "$STATE/client/key.pem" "$@"
}
keeper_pid() { cat "$STATE/keeper.pid" 2>/dev/null || true; }
# The caller's TMPDIR (a test's private folder) does not exist in the remote host's private /tmp.
inside() { nsenter -t "$(keeper_pid)" -m -n env -u TMPDIR "$@"; }
answers() { remote_docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }

certs() {
  [ -f "$STATE/client/key.pem" ] && return 0
  log "openssl: CA, server cert for $REMOTE_IP, client cert"
  local d="$STATE/pki"
  mkdir -p "$d" "$STATE/client" "$STATE/server"
  openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=corral-remote-test-ca" \
    -keyout "$d/ca-key.pem" -out "$d/ca.pem" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj "/CN=$REMOTE_IP" -keyout "$STATE/server/key.pem" -out "$d/server.csr" 2>/dev/null
  printf 'subjectAltName=IP:%s\nextendedKeyUsage=serverAuth\n' "$REMOTE_IP" >"$d/server.ext"
  openssl x509 -req -in "$d/server.csr" -CA "$d/ca.pem" -CAkey "$d/ca-key.pem" -CAcreateserial -days 30 \
    -extfile "$d/server.ext" -out "$STATE/server/cert.pem" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj "/CN=corral-test-client" -keyout "$STATE/client/key.pem" -out "$d/client.csr" 2>/dev/null
  printf 'extendedKeyUsage=clientAuth\n' >"$d/client.ext"
  openssl x509 -req -in "$d/client.csr" -CA "$d/ca.pem" -CAkey "$d/ca-key.pem" -CAcreateserial -days 30 \
    -extfile "$d/client.ext" -out "$STATE/client/cert.pem" 2>/dev/null
  cp "$d/ca.pem" "$STATE/client/ca.pem"
  cp "$d/ca.pem" "$STATE/server/ca.pem"
  # A second, unrelated CA: the attack twin (a client trusting the wrong CA must be refused).
  mkdir -p "$STATE/wrong-ca"
  openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=not-the-remote-ca" \
    -keyout "$STATE/wrong-ca/ca-key.pem" -out "$STATE/wrong-ca/ca.pem" 2>/dev/null
  cp "$STATE/client/cert.pem" "$STATE/client/key.pem" "$STATE/wrong-ca/"
  chmod 600 "$STATE"/*/key.pem
}

ssh_keys() {
  [ -f "$STATE/ssh/id_ed25519" ] && return 0
  command -v sshd >/dev/null || [ -x /usr/sbin/sshd ] || die "sshd is missing: apt-get install openssh-server (scripts/setup.sh does)"
  log "ssh: host key and client key"
  mkdir -p "$STATE/ssh"
  ssh-keygen -q -t ed25519 -N '' -C corral-remote-host -f "$STATE/ssh/host_ed25519"
  ssh-keygen -q -t ed25519 -N '' -C corral-remote-client -f "$STATE/ssh/id_ed25519"
  cp "$STATE/ssh/id_ed25519.pub" "$STATE/ssh/authorized_keys"
  printf '%s %s\n' "$REMOTE_IP" "$(cut -d' ' -f1,2 "$STATE/ssh/host_ed25519.pub")" >"$STATE/ssh/known_hosts"
  cat >"$STATE/ssh/sshd_config" <<CONF
ListenAddress $REMOTE_IP
HostKey $STATE/ssh/host_ed25519
AuthorizedKeysFile $STATE/ssh/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
StrictModes no
AllowStreamLocalForwarding yes
AllowTcpForwarding yes
PidFile /run/sshd.pid
UsePAM no
CONF
  # A client config the ssh:// endpoints use (docker's and podman's ssh read ~/.ssh only, so the
  # tests point HOME-free tools at this file through CORRAL_REMOTE_SSH_CONFIG).
  cat >"$STATE/ssh/config" <<CONF
Host $REMOTE_IP
  User root
  IdentityFile $STATE/ssh/id_ed25519
  IdentitiesOnly yes
  UserKnownHostsFile $STATE/ssh/known_hosts
  StrictHostKeyChecking yes
CONF
}

network() {
  ip netns list | grep -qw "$NETNS" && return 0
  log "netns $NETNS, veth $HOST_IP <-> $REMOTE_IP"
  ip netns add "$NETNS"
  ip link add corral-rh type veth peer name corral-rr
  ip link set corral-rr netns "$NETNS"
  ip addr add "$HOST_IP/24" dev corral-rh
  ip link set corral-rh up
  ip netns exec "$NETNS" ip addr add "$REMOTE_IP/24" dev corral-rr
  ip netns exec "$NETNS" ip link set corral-rr up
  ip netns exec "$NETNS" ip link set lo up
}

# Runs inside the new mount namespace (and the netns): hide this machine's files, then start the
# engines and keep the namespace alive.
inner() {
  mount --make-rprivate /
  mount -t tmpfs -o mode=755 tmpfs /run
  for dir in /tmp /var/tmp /work /home; do [ -d "$dir" ] && mount -t tmpfs -o mode=1777 tmpfs "$dir"; done
  # This checkout too, wherever it was cloned (CI clones outside the folders above).
  [ -d "$CORRAL_REMOTE_HIDE" ] && mount -t tmpfs -o mode=755 tmpfs "$CORRAL_REMOTE_HIDE"
  mkdir -p /run/sshd /run/podman "$STATE/containers" "$STATE/docker"
  mount --bind "$STATE/containers" /var/lib/containers
  dockerd --iptables=false --ip-masq=false --bridge=none --data-root "$STATE/docker" \
    --exec-root /run/docker-exec --pidfile /run/docker.pid --cgroup-parent /corral-remote \
    --host unix:///run/docker.sock --host "tcp://$REMOTE_IP:2376" --tlsverify \
    --tlscacert "$STATE/server/ca.pem" --tlscert "$STATE/server/cert.pem" --tlskey "$STATE/server/key.pem" \
    >"$STATE/dockerd.log" 2>&1 </dev/null &
  /usr/sbin/sshd -f "$STATE/ssh/sshd_config" -E "$STATE/sshd.log"
  podman system service --time=0 unix:///run/podman/podman.sock >"$STATE/podman.log" 2>&1 </dev/null &
  exec sleep infinity
}

# A test host started from another checkout hid that one: hide this one too (mounts made now reach
# the containers made from now on, which bind the host's / recursively).
hide_checkout() {
  local here
  here="$(cd "$HERE/../.." && pwd)"
  if inside test -e "$here/package.json"; then
    log "hiding $here from the running test host"
    nsenter -t "$(keeper_pid)" -m mount -t tmpfs -o mode=755 tmpfs "$here"
  fi
}

start() {
  mkdir -p "$STATE"
  if [ -n "$(keeper_pid)" ] && kill -0 "$(keeper_pid)" 2>/dev/null && answers; then
    log "already running"
  else
    certs
    ssh_keys
    network
    log "starting dockerd, sshd and podman service in $NETNS (state: $STATE)"
    # A clean environment: the caller's TMPDIR (a test's private folder) does not exist in the
    # remote host's private /tmp, and runc would fail every exec there.
    setsid nsenter --net="/run/netns/$NETNS" unshare -m --propagation private \
      env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
      CORRAL_REMOTE_STATE="$STATE" CORRAL_REMOTE_HIDE="$(cd "$HERE/../.." && pwd)" bash "$HERE/remote-engine.sh" __inner </dev/null >"$STATE/keeper.log" 2>&1 &
    echo $! >"$STATE/keeper.pid"
    for _ in $(seq 1 150); do answers && break; sleep 0.2; done
    answers || { tail -n 30 "$STATE/dockerd.log" >&2; die "remote dockerd did not answer; see $STATE/dockerd.log"; }
    for _ in $(seq 1 50); do inside test -S /run/podman/podman.sock && break; sleep 0.2; done
  fi
  load_image
  log "up: docker $(remote_docker version --format '{{.Server.Version}}') at tcp://$REMOTE_IP:2376 (TLS), ssh://root@$REMOTE_IP"
}

load_image() {
  hide_checkout
  # Loaded again whenever the local image changed (the same id on both engines: the same image).
  local want
  want="$(docker image inspect -f '{{.Id}}' "$TEST_IMAGE")"
  if [ "$(remote_docker image inspect -f '{{.Id}}' "$TEST_IMAGE" 2>/dev/null)" != "$want" ]; then
    log "docker save | docker load $TEST_IMAGE over tcp+TLS"
    docker save "$TEST_IMAGE" | remote_docker load -q >/dev/null
  fi
  if [ "$(inside podman image inspect -f '{{.Id}}' "$TEST_IMAGE" 2>/dev/null)" != "$(podman image inspect -f '{{.Id}}' "$TEST_IMAGE" 2>/dev/null)" ]; then
    log "podman save | podman load $TEST_IMAGE into the remote storage"
    podman save -q "$TEST_IMAGE" | inside podman load -q >/dev/null
  fi
}

stop() {
  local pid
  pid="$(keeper_pid)"
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    log "stopping the remote engines"
    inside sh -c 'kill -TERM $(cat /run/docker.pid) $(cat /run/sshd.pid) 2>/dev/null; true' || true
    sleep 2
    # The podman service and the keeper share its process group (setsid).
    kill -TERM -- "-$pid" 2>/dev/null || true
  fi
  rm -f "$STATE/keeper.pid"
  ip netns list | grep -qw "$NETNS" && ip netns delete "$NETNS"
  ip link show corral-rh >/dev/null 2>&1 && ip link delete corral-rh
  true
}

print_env() {
  cat <<ENV
CORRAL_REMOTE_DOCKER_TCP=tcp://$REMOTE_IP:2376
CORRAL_REMOTE_DOCKER_CERT_PATH=$STATE/client
CORRAL_REMOTE_WRONG_CA_CERT_PATH=$STATE/wrong-ca
CORRAL_REMOTE_SSH=ssh://root@$REMOTE_IP
CORRAL_REMOTE_SSH_KEY=$STATE/ssh/id_ed25519
CORRAL_REMOTE_SSH_KNOWN_HOSTS=$STATE/ssh/known_hosts
CORRAL_REMOTE_SSH_CONFIG=$STATE/ssh/config
CORRAL_REMOTE_PODMAN=ssh://root@$REMOTE_IP:22/run/podman/podman.sock
CORRAL_REMOTE_HOST_IP=$HOST_IP
CORRAL_REMOTE_KEEPER_PID=$(keeper_pid)
ENV
}

status() {
  if answers; then echo "remote docker: $(remote_docker version --format '{{.Server.Version}}')"; else echo "remote docker: not answering"; fi
}

case "${1:-}" in
  start) start ;;
  load) load_image ;;
  stop) stop ;;
  env) print_env ;;
  status) status ;;
  __inner) inner ;;
  *) echo "usage: $0 start|stop|env|status" >&2; exit 2 ;;
esac
