// bosun/hello:local — the demo and test app. Plain Node, no dependencies.
//
// GET /            one line: greeting, pod name, hostname, a per-process counter, the
//                  caller's address (from the PROXY protocol when enabled) and, when
//                  UPSTREAM_URL is set, what the upstream answered (the two-tier example).
// GET /healthz     liveness: 200 "ok", or 500 once failed (FAIL_LIVENESS, FAIL_LIVENESS_AFTER,
//                  or POST /control/liveness/fail).
// GET /readyz      readiness: the same, with FAIL_READINESS and /control/readiness/{fail,ok}.
// GET /json        the same facts as /, as JSON.
// GET /env         the process environment as JSON (to check env, envFrom and service variables).
//
// Environment: PORT (8080), POD_NAME, GREETING ("hello"), UPSTREAM_URL, EXIT_AFTER (seconds),
// EXIT_CODE (1), FAIL_LIVENESS, FAIL_LIVENESS_AFTER (seconds), FAIL_READINESS,
// PROXY_PROTOCOL ("1": expect a PROXY v1 or v2 header on every connection).
'use strict';

const http = require('http');
const net = require('net');
const os = require('os');

const port = Number(process.env.PORT || 8080);
const podName = process.env.POD_NAME || os.hostname();
const greeting = process.env.GREETING || 'hello';
const upstreamUrl = process.env.UPSTREAM_URL || '';
const expectProxyProtocol = process.env.PROXY_PROTOCOL === '1';
const startedAt = Date.now();

let counter = 0;
let shuttingDown = false;
const health = {
  liveness: !isTrue(process.env.FAIL_LIVENESS),
  readiness: !isTrue(process.env.FAIL_READINESS),
};

function isTrue(value) {
  return value === '1' || value === 'true' || value === 'yes';
}

function log(message, fields) {
  process.stdout.write(
    JSON.stringify({ time: new Date().toISOString(), pod: podName, message, ...fields }) + '\n',
  );
}

async function callUpstream() {
  try {
    const response = await fetch(upstreamUrl, { signal: AbortSignal.timeout(5000) });
    return (await response.text()).trim();
  } catch (error) {
    return `upstream ${upstreamUrl} failed: ${error.cause ? error.cause.code || error.cause.message : error.message}`;
  }
}

async function describe(req) {
  counter += 1;
  const facts = {
    greeting,
    pod: podName,
    hostname: os.hostname(),
    count: counter,
    client: req.socket.proxiedClient || `${req.socket.remoteAddress}:${req.socket.remotePort}`,
  };
  if (upstreamUrl) facts.upstream = await callUpstream();
  return facts;
}

function reply(res, code, body, type = 'text/plain') {
  const headers = { 'content-type': type, 'content-length': Buffer.byteLength(body) };
  if (shuttingDown) headers.connection = 'close';
  res.writeHead(code, headers);
  res.end(body);
}

const server = http.createServer(async (req, res) => {
  const path = (req.url || '/').split('?')[0];
  try {
    if (path === '/healthz' || path === '/readyz') {
      const which = path === '/healthz' ? 'liveness' : 'readiness';
      return health[which] ? reply(res, 200, 'ok\n') : reply(res, 500, `${which} failing\n`);
    }
    const control = /^\/control\/(liveness|readiness)\/(fail|ok)$/.exec(path);
    if (control) {
      health[control[1]] = control[2] === 'ok';
      log('health changed', { [control[1]]: health[control[1]] });
      return reply(res, 200, `${control[1]} ${control[2]}\n`);
    }
    if (path === '/env') return reply(res, 200, JSON.stringify(process.env) + '\n', 'application/json');
    if (path === '/json')
      return reply(res, 200, JSON.stringify(await describe(req)) + '\n', 'application/json');
    if (path === '/') {
      const f = await describe(req);
      const upstream = f.upstream === undefined ? '' : ` | upstream: ${f.upstream}`;
      log('request', { client: f.client, count: f.count });
      return reply(
        res,
        200,
        `${f.greeting} from ${f.pod} (host ${f.hostname}) #${f.count} client ${f.client}${upstream}\n`,
      );
    }
    return reply(res, 404, `not found: ${path}\n`);
  } catch (error) {
    return reply(res, 500, `error: ${error.message}\n`);
  }
});
server.keepAliveTimeout = 65_000;

// PROXY protocol: v1 is a text line "PROXY TCP4 src dst sport dport\r\n"; v2 starts with a
// 12-byte signature followed by a binary header. The header is read and removed before the
// bytes reach the HTTP parser, and the client address it names is kept on the socket.
const V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);

function parseProxyHeader(buffer) {
  if (buffer.length >= 16 && buffer.subarray(0, 12).equals(V2_SIGNATURE)) {
    const length = 16 + buffer.readUInt16BE(14);
    if (buffer.length < length) return { incomplete: true };
    const command = buffer[12] & 0x0f;
    const family = buffer[13] >> 4;
    let client = 'local';
    if (command === 1 && family === 1) {
      client = `${[...buffer.subarray(16, 20)].join('.')}:${buffer.readUInt16BE(24)}`;
    } else if (command === 1 && family === 2) {
      const groups = [];
      for (let i = 0; i < 16; i += 2) groups.push(buffer.readUInt16BE(16 + i).toString(16));
      client = `[${groups.join(':')}]:${buffer.readUInt16BE(48)}`;
    }
    return { client, consumed: length, version: 2 };
  }
  const end = buffer.indexOf('\r\n');
  if (end === -1) return buffer.length > 107 ? { error: 'PROXY v1 header too long' } : { incomplete: true };
  const parts = buffer.subarray(0, end).toString('latin1').split(' ');
  if (parts[0] !== 'PROXY') return { error: 'no PROXY protocol header' };
  const client = parts[1] === 'UNKNOWN' ? 'unknown' : `${parts[2]}:${parts[4]}`;
  return { client, consumed: end + 2, version: 1 };
}

const listener = expectProxyProtocol
  ? net.createServer((socket) => {
      let pending = Buffer.alloc(0);
      const onData = (chunk) => {
        pending = Buffer.concat([pending, chunk]);
        const header = parseProxyHeader(pending);
        if (header.incomplete) return;
        socket.removeListener('data', onData);
        if (header.error) {
          log('bad proxy header', { error: header.error });
          socket.destroy();
          return;
        }
        socket.proxiedClient = header.client;
        socket.pause();
        socket.unshift(pending.subarray(header.consumed));
        server.emit('connection', socket);
        socket.resume();
      };
      socket.on('data', onData);
    })
  : server;

/** How long no new connection must come after SIGTERM before the listening socket closes. */
const QUIET_BEFORE_CLOSE_MS = 300;
let lastConnectionAt = 0;
listener.on('connection', () => (lastConnectionAt = Date.now()));
listener.listen(port, () => log('listening', { port, proxyProtocol: expectProxyProtocol }));

const exitAfter = Number(process.env.EXIT_AFTER || 0);
if (exitAfter > 0) {
  setTimeout(() => {
    log('exiting as asked', { exitAfter });
    process.exit(Number(process.env.EXIT_CODE || 1));
  }, exitAfter * 1000);
}
const failLivenessAfter = Number(process.env.FAIL_LIVENESS_AFTER || 0);
if (failLivenessAfter > 0) {
  setTimeout(() => {
    health.liveness = false;
    log('liveness now failing', { failLivenessAfter });
  }, failLivenessAfter * 1000);
}

function shutdown(signal) {
  if (shuttingDown) return;
  shuttingDown = true;
  health.readiness = false;
  log('shutting down', { signal, uptimeSeconds: Math.round((Date.now() - startedAt) / 1000) });
  // Endpoints drop a terminating pod a moment after its SIGTERM, so proxies may still open new
  // connections to it. Closing the listening socket then would reset the ones already queued in
  // the kernel's backlog, after a proxy's connect succeeded, too late to retry elsewhere. So it
  // is closed once no connection has come for a while; one that comes later is refused, and a
  // proxy retries it. Requests in flight finish (answers now carry "connection: close").
  // http.Server#close would also drop idle connections at once, among them ones accepted a
  // moment ago whose request is not read yet, so the listening socket is closed as a plain
  // net.Server, and idle keep-alive connections only after a short while.
  const stopAccepting = () => {
    const quietFor = Date.now() - lastConnectionAt;
    if (quietFor < QUIET_BEFORE_CLOSE_MS) {
      setTimeout(stopAccepting, QUIET_BEFORE_CLOSE_MS - quietFor);
      return;
    }
    net.Server.prototype.close.call(listener, () => process.exit(0));
    setTimeout(() => server.closeIdleConnections?.(), 300).unref();
  };
  stopAccepting();
  // Connections that do not close on their own must not hold the pod past its grace period.
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));
