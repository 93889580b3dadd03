#!/usr/bin/env bash
# Makes sure a Docker daemon answers. When none does and we are root on Debian, installs
# Debian's docker.io and starts dockerd in the background, then waits until it answers.
# It only starts the engine: it never touches containers, networks or volumes.
set -euo pipefail

log() { printf 'docker-engine: %s\n' "$*" >&2; }

daemon_answers() { command -v docker >/dev/null 2>&1 && docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }

if daemon_answers; then
  log "daemon answers (server $(docker version --format '{{.Server.Version}}'))"
  exit 0
fi

if ! command -v dockerd >/dev/null 2>&1; then
  if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    log "no Docker daemon answers and dockerd is not installed."
    log "install Docker Engine (on Debian: sudo apt-get install docker.io), start it (sudo dockerd &"
    log "or sudo systemctl start docker), make sure your user can reach /var/run/docker.sock, then run this again."
    exit 1
  fi
  log "installing Debian's docker.io"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq docker.io >/dev/null
fi

if [ "$(id -u)" -ne 0 ]; then
  log "dockerd is installed but not running, and starting it needs root: run 'sudo dockerd &' (or 'sudo systemctl start docker')."
  exit 1
fi

log_file=${BOSUN_DOCKERD_LOG:-/var/log/bosun-dockerd.log}
log "starting dockerd (log: $log_file)"
# setsid: the daemon must outlive this script and the shell that ran it. It must not inherit
# any other descriptor either: under `flock LOCK bash .ci/run` it kept the lock held for as long
# as it ran, so every later run waiting on that lock hung.
(
  for fd in /proc/$BASHPID/fd/*; do
    n=${fd##*/}
    if [ "$n" -gt 2 ]; then eval "exec $n>&-" 2>/dev/null || true; fi
  done
  exec setsid dockerd >"$log_file" 2>&1 < /dev/null
) &

for _ in $(seq 1 120); do
  if daemon_answers; then
    log "daemon answers (server $(docker version --format '{{.Server.Version}}'))"
    exit 0
  fi
  if ! pgrep -x dockerd >/dev/null; then
    log "dockerd exited; the last lines of $log_file:"
    tail -n 20 "$log_file" >&2
    exit 1
  fi
  sleep 0.5
done
log "dockerd did not answer within 60 s; see $log_file"
exit 1
