#!/usr/bin/env bash
# The README's first command: the fullest demo that works today.
# Start the Docker engine, build bosun and its local images, validate manifests/ offline,
# bring up a cluster (3 masters, 2 agents, the service proxy), deploy the hello app and the
# two-tier example, wait for their rollouts, and print the addresses where they answer.
# Run it again and it resumes the same cluster; `node dist/cmd/bosun.js down --purge` ends it.
set -euo pipefail
cd "$(dirname "$0")/.."

bosun() { node dist/cmd/bosun.js "$@"; }

bash scripts/docker-engine.sh
npm run -s build
bash scripts/build-images.sh

echo
echo "== bosun apply --dry-run=client -R -f manifests/"
bosun apply --dry-run=client -R -f manifests/

echo
echo "== bosun up --agents 2"
# A second run finds the first one's cluster still up, and goes on with it.
if up_output=$(bosun up --agents 2 2>&1); then
  echo "$up_output"
elif grep -q 'already running' <<<"$up_output"; then
  echo "(the cluster in .bosun is already running)"
else
  echo "$up_output" >&2
  exit 1
fi

echo
echo "== bosun apply -R -f manifests/"
bosun apply -R -f manifests/

echo
for deployment in $(bosun get deployments -o name); do
  echo "== bosun rollout status $deployment"
  bosun rollout status "$deployment" --timeout 120s
done

echo
echo "== bosun get pods,services -o wide"
bosun get pods,services -o wide

# The ClusterIP is a real address on the host when the proxy runs as root; otherwise the
# Service's NodePort on 127.0.0.1 is the way in (see the README, "Services").
address() {
  bosun get service "$1" -o json | node -e '
    const svc = JSON.parse(require("fs").readFileSync(0, "utf8"));
    const port = svc.spec.ports[0];
    const ingress = svc.status?.loadBalancer?.ingress?.[0]?.ip;
    if (ingress) console.log(`${ingress}:${port.port}`);
    else if (process.getuid() === 0) console.log(`${svc.spec.clusterIP}:${port.port}`);
    else if (port.nodePort) console.log(`127.0.0.1:${port.nodePort}`);
    else console.log(`${svc.spec.clusterIP}:${port.port}`);'
}

echo
for service in hello frontend; do
  if ! bosun get service "$service" >/dev/null 2>&1; then continue; fi
  target=$(address "$service")
  echo "== curl http://$target/ (the $service Service)"
  curl -sS --max-time 5 --retry 10 --retry-connrefused --retry-delay 1 "http://$target/"
  echo
done

echo
echo "The cluster is up. Try:"
echo "  export KUBECONFIG=$PWD/.bosun/kubeconfig; kubectl get pods -o wide"
echo "  node dist/cmd/bosun.js kill leader; curl http://$(address hello)/"
echo "  node dist/cmd/bosun.js down --purge"
echo "hello answers at http://$(address hello)/"
