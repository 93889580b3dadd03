#!/usr/bin/env bash
# bosun's service proxy vs HAProxy vs direct, in one run (see BENCHMARKS.md, "Service proxy").
# Needs root (the proxy adds the ClusterIP to the bridge), Docker, wrk and haproxy.
# Usage: scripts/bench/proxy/run.sh [--duration 20] [--connections 64]
set -euo pipefail
root="$(cd "$(dirname "$0")/../../.." && pwd)"
cd "$root"
for tool in wrk haproxy; do
  if ! command -v "$tool" >/dev/null; then
    echo "installing wrk and haproxy (Debian packages)" >&2
    apt-get install -y wrk haproxy >/dev/null
  fi
done
npm run -s build
bash scripts/build-images.sh >/dev/null
exec node scripts/bench/proxy/bench.js "$@"
