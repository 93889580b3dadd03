#!/usr/bin/env bash
# The README's first command: the fullest demo that works today.
# Today: start the Docker engine, build bosun and its local images, and validate every
# manifest in manifests/ offline.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/docker-engine.sh
npm run -s build
bash scripts/build-images.sh
echo
echo "== bosun apply --dry-run=client -R -f manifests/"
node dist/cmd/bosun.js apply --dry-run=client -R -f manifests/
