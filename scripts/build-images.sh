#!/usr/bin/env bash
# Builds bosun's local images without any registry, from what this machine already has:
#   bosun/node:local   the host's Node binary and its shared libraries, plus busybox
#   bosun/hello:local  the demo/test app (scripts/images/hello/hello.js) on bosun/node:local
#   bosun/hello:v2     the same image under a second tag, for rolling updates and rollbacks
#   bosun/pause:local  the pod sandbox, a static C program (scripts/images/pause/pause.c)
#   bosun/bosun:local  bosun itself (the repository's Dockerfile), only with --with-bosun
# Idempotent and fast: each image carries a hash of its inputs as a label and is rebuilt
# only when that hash changes.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
images="$here/images"
with_bosun=false
[ "${1:-}" = "--with-bosun" ] && with_bosun=true

log() { printf 'build-images: %s\n' "$*" >&2; }

need() {
  command -v "$1" >/dev/null 2>&1 && return 0
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1 && [ -n "${2:-}" ]; then
    log "installing Debian's $2"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null
    return 0
  fi
  log "missing $1${2:+ (Debian package $2)}; install it and run this again"
  exit 1
}

# The label that records which inputs an image was built from.
current_hash() { docker image inspect "$1" --format '{{index .Config.Labels "bosun.input-hash"}}' 2>/dev/null || true; }

# build IMAGE HASH CONTEXT [extra docker build args...]
build() {
  local image=$1 hash=$2 context=$3
  shift 3
  if [ "$(current_hash "$image")" = "$hash" ]; then
    log "$image is up to date"
    return 0
  fi
  log "building $image"
  local output
  # The classic builder warns that it is deprecated on every build; show the output only on failure.
  if ! output=$(DOCKER_BUILDKIT=0 docker build -q --label "bosun.input-hash=$hash" --label "bosun.image=true" -t "$image" "$@" "$context" 2>&1); then
    printf '%s\n' "$output" >&2
    log "building $image failed"
    exit 1
  fi
}

hash_files() { sha256sum "$@" | sha256sum | cut -c1-16; }

need docker docker.io
need busybox busybox-static
need gcc gcc

node_bin=$(readlink -f "$(command -v node)")
busybox_bin=$(readlink -f "$(command -v busybox)")
if ! "$busybox_bin" --list >/dev/null 2>&1 || ldd "$busybox_bin" >/dev/null 2>&1; then
  # The image has no libc of busybox's own: only a statically linked busybox will run there.
  log "$busybox_bin is not a static busybox; install Debian's busybox-static"
  exit 1
fi
node_libs=$(ldd "$node_bin" | awk '/=>/ { print $3 } /^\s*\/.*ld-linux/ { print $1 }' | sort -u)

# --- bosun/node:local ---
node_hash=$(hash_files "$node_bin" "$busybox_bin" $node_libs "$images/node/Dockerfile")
if [ "$(current_hash bosun/node:local)" != "$node_hash" ]; then
  context=$(mktemp -d)
  trap 'rm -rf "$context"' EXIT
  rootfs="$context/rootfs"
  mkdir -p "$rootfs/usr/bin" "$rootfs/bin" "$rootfs/tmp" "$rootfs/etc" "$rootfs/root" "$rootfs/app"
  chmod 1777 "$rootfs/tmp"
  cp "$node_bin" "$rootfs/usr/bin/node"
  for lib in $node_libs; do
    mkdir -p "$rootfs$(dirname "$lib")"
    cp -L "$lib" "$rootfs$lib"
  done
  # The dynamic loader is looked up at its canonical path as well as where ldd found it.
  if [ -d /lib64 ]; then
    mkdir -p "$rootfs/lib64"
    cp -L /lib64/ld-linux-x86-64.so.2 "$rootfs/lib64/" 2>/dev/null || true
  fi
  cp "$busybox_bin" "$rootfs/bin/busybox"
  for applet in $("$busybox_bin" --list); do
    [ -e "$rootfs/bin/$applet" ] || ln -s busybox "$rootfs/bin/$applet"
  done
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$rootfs/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$rootfs/etc/group"
  printf 'hosts: files dns\n' >"$rootfs/etc/nsswitch.conf"
  if [ -f /etc/ssl/certs/ca-certificates.crt ]; then
    mkdir -p "$rootfs/etc/ssl/certs"
    cp /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/"
  fi
  cp "$images/node/Dockerfile" "$context/Dockerfile"
  build bosun/node:local "$node_hash" "$context"
  rm -rf "$context"
  trap - EXIT
else
  log "bosun/node:local is up to date"
fi

# --- bosun/hello:local ---
hello_hash=$(hash_files "$images/hello/hello.js" "$images/hello/Dockerfile" <(echo "$node_hash"))
build bosun/hello:local "$hello_hash" "$images/hello"
docker tag bosun/hello:local bosun/hello:v2

# --- bosun/pause:local ---
pause_hash=$(hash_files "$images/pause/pause.c" "$images/pause/Dockerfile")
if [ "$(current_hash bosun/pause:local)" != "$pause_hash" ]; then
  context=$(mktemp -d)
  gcc -static -Os -s -o "$context/pause" "$images/pause/pause.c"
  cp "$images/pause/Dockerfile" "$context/"
  build bosun/pause:local "$pause_hash" "$context"
  rm -rf "$context"
else
  log "bosun/pause:local is up to date"
fi

# --- bosun/bosun:local (optional: masters and agents as containers) ---
if $with_bosun; then
  [ -f "$root/dist/cmd/bosun.js" ] || (cd "$root" && npm run build >/dev/null)
  bosun_hash=$( (cd "$root" && find dist package.json package-lock.json Dockerfile -type f -print0 | sort -z | xargs -0 sha256sum; echo "$node_hash") | sha256sum | cut -c1-16)
  build bosun/bosun:local "$bosun_hash" "$root" --build-arg BASE=bosun/node:local
fi

log "images ready"
