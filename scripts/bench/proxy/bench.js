// The service proxy benchmark (run through run.sh): 3 hello containers on a Docker network of
// their own; wrk against (a) one container directly, (b) HAProxy in TCP mode over the 3, (c) a
// bosun Service's ClusterIP served by a real `bosun proxy` process over the same 3, and (d) a
// second Service over them in kernel mode (`bosun.dev/proxy-mode: kernel`: nat rules written by
// that proxy). Keep-alive (64 connections) and a new connection per request; CPU time of each
// proxy process from /proc/<pid>/stat and of the whole machine from /proc/stat; then CPU profiles
// of the bosun proxy under both loads.
/* global fetch, AbortSignal, setTimeout */
'use strict';

const { execFileSync, spawn } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const Docker = require('dockerode');

const root = path.join(__dirname, '..', '..', '..');
const { startLocalApiServer } = require(path.join(root, 'dist/pkg/apiserver/local.js'));
const { Client } = require(path.join(root, 'dist/pkg/client/index.js'));
const { helloContainers, helloService } = require(path.join(root, 'dist/scripts/bench/proxy-bed.js'));

const args = process.argv.slice(2);
const flag = (name, fallback) => {
  const at = args.indexOf(`--${name}`);
  return at >= 0 ? args[at + 1] : fallback;
};
const DURATION = Number(flag('duration', 20));
const CONNECTIONS = Number(flag('connections', 64));
const CLOSE_DURATION = Number(flag('close-duration', 10));
const PROFILE_DURATION = Number(flag('profile-duration', 10));
const runId = `bench${Date.now().toString(36)}`;
const LABEL = { 'bosun.bench': runId };
const docker = new Docker();
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'bosun-bench-proxy-'));
const HZ = 100; // USER_HZ: /proc/<pid>/stat counts clock ticks of 1/100 s on Linux

/** User and system CPU seconds of a process so far (/proc/<pid>/stat utime, stime). */
function cpuSeconds(pid) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { user: Number(fields[11]) / HZ, system: Number(fields[12]) / HZ };
}

/** The machine's CPU time so far by kind, in clock ticks (/proc/stat's first line). */
function machineTicks() {
  const [user, nice, system, idle, iowait, irq, softirq, steal] = fs
    .readFileSync('/proc/stat', 'utf8')
    .split('\n')[0]
    .trim()
    .split(/\s+/)
    .slice(1)
    .map(Number);
  return { user: user + nice, system, idle: idle + iowait, softirq: irq + softirq, steal };
}

function threadCount(pid) {
  return Number(/Threads:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);
}

function parseLatency(value, unit) {
  const n = Number(value);
  return unit === 'us' ? n / 1000 : unit === 's' ? n * 1000 : n;
}

/** Runs wrk and returns requests/s, p50/p99 (ms), request count and errors. */
function wrk(url, seconds, extra = []) {
  const out = execFileSync('wrk', ['-t2', `-c${CONNECTIONS}`, `-d${seconds}s`, '--latency', ...extra, url], {
    encoding: 'utf8',
  });
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)[1]);
  const requests = Number(/(\d+) requests in/.exec(out)[1]);
  const pct = (p) => {
    const m = new RegExp(`\\s${p}%\\s+([\\d.]+)(us|ms|s)`).exec(out);
    return m ? parseLatency(m[1], m[2]) : NaN;
  };
  const errors = /Socket errors: (.*)/.exec(out)?.[1] ?? 'none';
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
  return { rps, p50: pct(50), p99: pct(99), requests, errors, non2xx };
}

const progress = (line) => process.stderr.write(`bench: ${line}\n`);

async function measure(name, url, pid, seconds, extra) {
  const timeWait = extra ? await settleTimeWait() : timeWaitCount();
  progress(`${name}: ${url}${extra ? ` (connection: close, ${timeWait} in TIME_WAIT)` : ''}`);
  const before = pid ? cpuSeconds(pid) : undefined;
  const machineBefore = machineTicks();
  const result = wrk(url, seconds, extra);
  const after = pid ? cpuSeconds(pid) : undefined;
  const machineAfter = machineTicks();
  const machine = Object.fromEntries(
    Object.keys(machineBefore).map((k) => [k, machineAfter[k] - machineBefore[k]]),
  );
  // NaN for the direct path, which has no proxy process.
  const user = after ? after.user - before.user : NaN;
  const system = after ? after.system - before.system : NaN;
  return {
    name,
    ...result,
    timeWait,
    machine,
    cpuMsPer1000: ((user + system) * 1000 * 1000) / result.requests,
    systemShare: system / (user + system),
  };
}

/** TCP sockets in TIME_WAIT in this network namespace (/proc/net/sockstat). */
function timeWaitCount() {
  return Number(/TCP:.*\btw (\d+)/.exec(fs.readFileSync('/proc/net/sockstat', 'utf8'))?.[1] ?? 0);
}

const TW_REUSE = '/proc/sys/net/ipv4/tcp_tw_reuse';
let twReuseBefore;

/**
 * For the connection-per-request runs, lets wrk reuse its own ports in TIME_WAIT
 * (tcp_tw_reuse=1, as load generators are usually run; the default 2 allows it on loopback
 * only). A client that closes first keeps each port in TIME_WAIT for 60 s, and at 2,500
 * connections a second, nearly every connect(2) then searched the whole port range: up to half
 * the machine's CPU went to wrk's port search, not to the paths measured. Whether wrk closes
 * first depends on the path (HAProxy forwards a response and its FIN together; a pod, and so
 * the kernel-forwarded path, sends the FIN a moment after), which made that cost differ between
 * rows. `--keep-tw-reuse` leaves the setting alone and waits for TIME_WAIT to drain instead.
 */
function reuseTimeWait() {
  if (args.includes('--keep-tw-reuse')) return;
  twReuseBefore = fs.readFileSync(TW_REUSE, 'utf8').trim();
  fs.writeFileSync(TW_REUSE, '1');
}

function restoreTimeWait() {
  if (twReuseBefore === undefined) return;
  fs.writeFileSync(TW_REUSE, twReuseBefore);
  twReuseBefore = undefined;
}

const reusingTimeWait = () => twReuseBefore !== undefined;

/**
 * Waits (at most a little over TIME_WAIT's 60 s) until the previous phase's closed connections
 * have left TIME_WAIT. Tens of thousands of them to the same pod make every connect(2) to it
 * search for a free source port, and that cost fell on whichever path ran next: HAProxy's
 * connects after the direct phase cost 1 ms each, bosun's after both half as much.
 */
async function settleTimeWait(limit = 500, timeoutMs = 75_000) {
  if (reusingTimeWait()) return timeWaitCount();
  const deadline = Date.now() + timeoutMs;
  while (timeWaitCount() > limit && Date.now() < deadline)
    await new Promise((resolve) => setTimeout(resolve, 1000));
  return timeWaitCount();
}

async function waitHttp(url, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const r = await fetch(url, { signal: AbortSignal.timeout(1000) });
      if (r.ok) return;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) throw new Error(`${url} does not answer`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function stopped(child) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  child.kill('SIGTERM');
  return new Promise((resolve) => child.once('exit', resolve));
}

let cleaning;

/** Once, however often it is asked for (the end of the run and a signal may both ask). */
function cleanup(children) {
  cleaning ??= (async () => {
    progress('cleaning up');
    restoreTimeWait();
    await Promise.all(children.map(stopped));
    const filters = JSON.stringify({ label: [`bosun.bench=${runId}`] });
    for (const c of await docker.listContainers({ all: true, filters }))
      await docker.getContainer(c.Id).remove({ force: true });
    for (const n of await docker.listNetworks({ filters })) await docker.getNetwork(n.Id).remove();
  })();
  return cleaning;
}

/** Self time per function and per kind of work, of the samples after `skipMs` (start-up), idle excluded. */
function summariseProfile(file, skipMs) {
  const profile = JSON.parse(fs.readFileSync(file, 'utf8'));
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map();
  const dt = profile.timeDeltas;
  let at = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    at += dt[i] ?? 0;
    const id = profile.samples[i];
    if (at < skipMs * 1000 || byId.get(id).callFrame.functionName === '(idle)') continue;
    self.set(id, (self.get(id) ?? 0) + (dt[i] ?? 0));
  }
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const byFunction = new Map();
  const byCategory = new Map();
  for (const [id, micros] of self) {
    const frame = byId.get(id).callFrame;
    const file = frame.url.replace(/^.*\/(dist|node_modules)\//, '$1/').replace(/^node:/, '');
    const key = `${frame.functionName || '(anonymous)'} ${file}${file ? `:${frame.lineNumber + 1}` : ''}`;
    byFunction.set(key, (byFunction.get(key) ?? 0) + micros);
    const category =
      frame.functionName === '(garbage collector)'
        ? 'garbage collection'
        : !frame.url && frame.functionName !== '(program)'
          ? 'native bindings (socket reads and writes, connect, close)'
          : frame.functionName === '(program)'
            ? 'native (libuv, syscalls, V8 outside JS)'
            : /dist\/pkg\/proxy/.test(file)
              ? 'bosun proxy code'
              : /^(net|stream|internal)/.test(file) || /internal\//.test(frame.url)
                ? 'Node streams and net'
                : 'other JS';
    byCategory.set(category, (byCategory.get(category) ?? 0) + micros);
  }
  const top = (map, n) =>
    [...map]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([k, v]) => `${((100 * v) / total).toFixed(1).padStart(5)}%  ${k}`);
  return { categories: top(byCategory, 10), functions: top(byFunction, 15) };
}

async function main() {
  const children = [];
  // Interrupted (Ctrl-C, a CI timeout): the containers, network and processes of this run go
  // too, not only when the run ends by itself.
  for (const signal of ['SIGINT', 'SIGTERM'])
    process.once(signal, () => {
      cleanup(children)
        .catch((error) => process.stderr.write(`cleanup: ${error.message}\n`))
        .finally(() => process.exit(130));
    });
  const started = new Date().toISOString();
  try {
    // Backends: 3 hello containers.
    const ips = await helloContainers(docker, `bosun-bench-${runId}`, LABEL);
    for (const ip of ips) await waitHttp(`http://${ip}:8080/healthz`);

    // bosun: an apiserver with the Service and its Endpoints, and a real `bosun proxy`.
    const api = await startLocalApiServer([
      { token: `proxy-${runId}`, identity: { user: 'system:bosun-proxy', role: 'proxy' } },
    ]);
    const client = new Client({ servers: [api.url], token: api.adminToken });
    const service = await helloService(client, ips);
    const metricsPort = 30000 + Math.floor(Math.random() * 10000);
    const startProxy = (nodeArgs) => {
      const child = spawn(
        process.execPath,
        [
          ...nodeArgs,
          path.join(root, 'dist/cmd/bosun.js'),
          'proxy',
          '--server',
          api.url,
          '--token',
          `proxy-${runId}`,
          '--network',
          `bosun-bench-${runId}`,
          '--metrics-port',
          String(metricsPort),
          '--dns-port',
          '0',
        ],
        {
          stdio: ['ignore', 'ignore', fs.openSync(path.join(work, 'proxy.log'), 'a')],
          env: { ...process.env, BOSUN_LOG_LEVEL: 'warn' },
        },
      );
      children.push(child);
      return child;
    };
    // The same 3 pods behind a Service whose ClusterIP is forwarded by the kernel (nat rules
    // the proxy writes; no byte passes through it).
    const kernelService = await helloService(client, ips, [], {
      name: 'hello-kernel',
      annotations: { 'bosun.dev/proxy-mode': 'kernel' },
    });
    const clusterIP = service.spec.clusterIP;
    let proxy = startProxy([]);
    await waitHttp(`http://${clusterIP}/healthz`);
    await waitHttp(`http://${kernelService.spec.clusterIP}/healthz`);

    // HAProxy in TCP mode over the 3, on the ClusterIP's address (another port), so that wrk
    // reaches both proxies the same way (the kernel treats loopback specially, e.g. tcp_tw_reuse=2).
    const haproxyPort = 20000 + Math.floor(Math.random() * 10000);
    const cfg = path.join(work, 'haproxy.cfg');
    fs.writeFileSync(
      cfg,
      [
        'global',
        '  maxconn 4096',
        'defaults',
        '  mode tcp',
        '  timeout connect 3s',
        '  timeout client 60s',
        '  timeout server 60s',
        `frontend bench`,
        `  bind ${clusterIP}:${haproxyPort}`,
        '  default_backend hello',
        'backend hello',
        '  balance roundrobin',
        ...ips.map((ip, i) => `  server hello${i + 1} ${ip}:8080`),
        '',
      ].join('\n'),
    );
    const haproxy = spawn('haproxy', ['-db', '-f', cfg], {
      stdio: ['ignore', 'ignore', fs.openSync(path.join(work, 'haproxy.log'), 'a')],
    });
    children.push(haproxy);
    await waitHttp(`http://${clusterIP}:${haproxyPort}/healthz`);

    const direct = `http://${ips[0]}:8080/`;
    const viaHaproxy = `http://${clusterIP}:${haproxyPort}/`;
    const viaBosun = `http://${clusterIP}/`;
    const viaKernel = `http://${kernelService.spec.clusterIP}/`;
    // Warm up each path (JIT, connection pools).
    for (const url of [direct, viaHaproxy, viaBosun, viaKernel]) wrk(url, 2);

    const keepAlive = [
      await measure('direct (one pod)', direct, 0, DURATION),
      await measure('HAProxy 2.6 (tcp)', viaHaproxy, haproxy.pid, DURATION),
      await measure('bosun proxy', viaBosun, proxy.pid, DURATION),
      await measure('bosun, kernel mode', viaKernel, proxy.pid, DURATION),
    ];
    const close = ['-H', 'Connection: close'];
    reuseTimeWait();
    const twReuseNote = reusingTimeWait()
      ? `tcp_tw_reuse=1 (was ${twReuseBefore})`
      : `tcp_tw_reuse=${fs.readFileSync(TW_REUSE, 'utf8').trim()}, TIME_WAIT drained before each`;
    const perConnection = [
      await measure('direct (one pod)', direct, 0, CLOSE_DURATION, close),
      await measure('HAProxy 2.6 (tcp)', viaHaproxy, haproxy.pid, CLOSE_DURATION, close),
      await measure('bosun proxy', viaBosun, proxy.pid, CLOSE_DURATION, close),
      await measure('bosun, kernel mode', viaKernel, proxy.pid, CLOSE_DURATION, close),
    ];
    const threads = { haproxy: threadCount(haproxy.pid), bosun: threadCount(proxy.pid) };

    // Profile runs: another proxy process with --cpu-prof each (its overhead stays out of the figures).
    const profiles = [];
    for (const [what, extra] of [
      ['keep-alive', []],
      ['a new connection per request', close],
    ]) {
      progress(`profiling the proxy: ${what}`);
      await stopped(proxy);
      const profileDir = path.join(work, `profile-${profiles.length}`);
      const spawned = Date.now();
      proxy = startProxy(['--cpu-prof', `--cpu-prof-dir=${profileDir}`]);
      await waitHttp(`http://${clusterIP}/healthz`);
      if (extra.length > 0) await settleTimeWait();
      const skipMs = Date.now() - spawned;
      wrk(viaBosun, PROFILE_DURATION, extra);
      await stopped(proxy);
      const file = fs.readdirSync(profileDir).find((f) => f.endsWith('.cpuprofile'));
      profiles.push({ what, ...summariseProfile(path.join(profileDir, file), skipMs) });
    }
    client.close();
    await api.close();

    const table = (rows) => {
      const lines = [
        '| path | requests/s | p50 ms | p99 ms | proxy CPU ms / 1,000 req | of it in the kernel | TIME_WAIT at start | socket errors |',
        '| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
      ];
      for (const r of rows)
        lines.push(
          `| ${r.name} | ${r.rps.toFixed(0)} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} | ${Number.isNaN(r.cpuMsPer1000) ? '-' : r.cpuMsPer1000.toFixed(1)} | ${Number.isNaN(r.systemShare) ? '-' : `${(100 * r.systemShare).toFixed(0)} %`} | ${r.timeWait} | ${r.errors}${r.non2xx ? `, ${r.non2xx} non-2xx` : ''} |`,
        );
      const [d, h, b, k] = rows;
      const ratios = (name, x) =>
        `${name}/HAProxy: requests/s ${(x.rps / h.rps).toFixed(2)}, p99 ${(x.p99 / h.p99).toFixed(2)}x, CPU/request ${(x.cpuMsPer1000 / h.cpuMsPer1000).toFixed(2)}x; ${name}/direct: requests/s ${(x.rps / d.rps).toFixed(2)}, p99 ${(x.p99 / d.p99).toFixed(2)}x`;
      lines.push('', ratios('bosun', b), ratios('kernel mode', k));
      // The whole machine's time per request shows cost that moved to other processes
      // (wrk, the pods) or into softirq, which no one process is charged for.
      lines.push('', 'The whole machine during each run, CPU ms per 1,000 requests (all cores):', '');
      lines.push(
        '| path | user | system | softirq | steal | idle |',
        '| --- | ---: | ---: | ---: | ---: | ---: |',
      );
      for (const r of rows) {
        const ms = (ticks) => ((ticks * 1000 * 1000) / HZ / r.requests).toFixed(0);
        lines.push(
          `| ${r.name} | ${ms(r.machine.user)} | ${ms(r.machine.system)} | ${ms(r.machine.softirq)} | ${ms(r.machine.steal)} | ${ms(r.machine.idle)} |`,
        );
      }
      return lines.join('\n');
    };
    const report = [
      `Run ${started} on ${os.cpus().length} cores (${os.cpus()[0].model}), Node ${process.version}; wrk -t2 -c${CONNECTIONS}; HAProxy threads: ${threads.haproxy}, bosun proxy threads: ${threads.bosun} (one JS thread).`,
      '',
      `Keep-alive, ${DURATION} s each:`,
      '',
      table(keepAlive),
      '',
      `New connection per request (\`-H 'Connection: close'\`), ${CLOSE_DURATION} s each, ${twReuseNote}:`,
      '',
      table(perConnection),
      '',
      ...profiles.flatMap((p) => [
        `CPU profile of the bosun proxy under load, ${p.what} (${PROFILE_DURATION} s, self time, idle excluded):`,
        '',
        '```',
        ...p.categories,
        '',
        ...p.functions,
        '```',
        '',
      ]),
    ].join('\n');
    process.stdout.write(report + '\n');
  } finally {
    await cleanup(children);
  }
}

main().catch((error) => {
  process.stderr.write(`${error.stack}\n`);
  process.exit(1);
});
