#!/usr/bin/env bash
# Builds a minimal root filesystem tarball from the host's own binaries (sh, bash, git, coreutils…)
# and the shared libraries they link, for `docker import` / `podman import`. No registry needed.
#
#   tooling/test-images/build-rootfs.sh <out.tar>
set -euo pipefail

out="${1:?usage: build-rootfs.sh <out.tar>}"
root="$(mktemp -d)"
trap 'rm -rf "$root"' EXIT

# What the integration tests and the end-to-end run need inside the container.
tools=(
  sh dash bash git env cat echo ls id mkdir rm rmdir sleep touch head tail true false printf stat
  dd wc seq cp mv chmod pwd whoami tr grep sed ps kill timeout yes uname readlink ln basename dirname
  sort uniq cut date tee test nproc curl socat getent setsid unshare tar
)

copy() { # copy a host file to the same path in the rootfs, following symlinks
  local src="$1"
  mkdir -p "$root$(dirname "$src")"
  cp -L "$src" "$root$src"
}

for tool in "${tools[@]}"; do
  path="$(type -P "$tool" || true)"
  case "$path" in
    /*) ;;
    *) continue ;; # a shell builtin or absent: the shells provide it
  esac
  copy "$path"
  # Also reachable from /usr/bin and /bin, like on a merged-/usr system.
  for dir in /bin /usr/bin; do
    [ -e "$root$dir/$tool" ] || { mkdir -p "$root$dir"; ln -s "$path" "$root$dir/$tool"; }
  done
  ldd "$path" 2>/dev/null | grep -oE '/[^ ]+\.so[^ ]*' | while read -r lib; do copy "$lib"; done
done

# glibc's split-off libraries the agent CLIs' native binaries link (Claude Code's `claude` needs
# libm, librt, libdl, libpthread; Codex's is static musl). The CLIs themselves are not baked in:
# the agent E2E tests mount the installed ones read-only (packages/agent-*/test/harness.ts).
for lib in libm.so.6 librt.so.1 libdl.so.2 libpthread.so.0; do
  for path in /lib/*-linux-gnu/"$lib"; do [ -e "$path" ] && copy "$path"; done
done

# git's helpers (the `git` binary execs some of them) and its default templates.
git_exec="$(git --exec-path)"
mkdir -p "$root$git_exec"
cp -L "$git_exec/git" "$root$git_exec/git" 2>/dev/null || true
[ -d /usr/share/git-core/templates ] && { mkdir -p "$root/usr/share/git-core"; cp -rL /usr/share/git-core/templates "$root/usr/share/git-core/"; }

# The dynamic loader and name-service bits getpwuid needs.
for lib in /lib64/ld-linux-x86-64.so.2 /lib/ld-linux-aarch64.so.1; do [ -e "$lib" ] && copy "$lib"; done
for lib in /lib/*-linux-gnu/libnss_files.so.2 /usr/lib/*-linux-gnu/libnss_files.so.2; do [ -e "$lib" ] && copy "$lib"; done

mkdir -p "$root"/{tmp,etc,home,root,proc,sys,dev,run,workspace}
chmod 1777 "$root/tmp"
cat >"$root/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/sh
PASSWD
cat >"$root/etc/group" <<'GROUP'
root:x:0:
nogroup:x:65534:
GROUP
echo 'passwd: files
group: files' >"$root/etc/nsswitch.conf"

tar -C "$root" -cf "$out" .
echo "[rootfs] $(du -sh "$out" | cut -f1) in $out" >&2
