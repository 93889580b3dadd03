/**
 * Ports for servers whose address others must know before they start (Raft peers, a master's
 * API, test servers). Port 0 would give an ephemeral port: the range the OS also hands to
 * outgoing connections, so one of those could take it between choosing and binding (a flake
 * CI met). These come from below the ephemeral range and below NodePorts (30000–32767).
 */
import { readFileSync } from 'fs';
import net from 'net';

const LOW = 20_000;
const HIGH = 30_000;
const ATTEMPTS = 100;

/** The OS's ephemeral range; where it cannot be read, Linux's default. */
function ephemeralRange(): [number, number] {
  try {
    const [from, to] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8')
      .trim()
      .split(/\s+/)
      .map(Number);
    if (Number.isInteger(from) && Number.isInteger(to)) return [from, to];
  } catch {
    // not Linux
  }
  return [32_768, 60_999];
}

/** The port a server bound on `host` (`port` 0: any), closed again at once; undefined if it could not bind. */
function bindOnce(port: number, host: string): Promise<number | undefined> {
  const server = net.createServer();
  return new Promise((resolve) => {
    server.once('error', () => resolve(undefined));
    server.listen(port, host, () => {
      const bound = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(bound));
    });
  });
}

/** A port free on `host` now, outside the ephemeral range where the OS's range allows it. */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  const [from, to] = ephemeralRange();
  if (to < LOW || from >= HIGH) {
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const port = LOW + Math.floor(Math.random() * (HIGH - LOW));
      if ((await bindOnce(port, host)) !== undefined) return port;
    }
  }
  const any = await bindOnce(0, host);
  if (any === undefined) throw new Error(`no port can be bound on ${host}`);
  return any;
}
