/**
 * One-request-per-connection HTTP helpers for Service tests: every request opens a connection
 * of its own, so the proxy balances each one, and records the local address it came from (what
 * a PROXY protocol header must name).
 */
import http from 'http';

export interface Answer {
  body: string;
  /** `address:port` of the test's end of the connection. */
  source: string;
}

export function request(
  host: string,
  port: number,
  path = '/',
  { timeoutMs = 5000, localAddress }: { timeoutMs?: number; localAddress?: string } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    let source = '';
    const req = http.get(
      { host, port, path, localAddress, agent: false, headers: { connection: 'close' }, timeout: timeoutMs },
      (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (body += chunk));
        response.on('end', () => resolve({ body, source }));
        response.on('error', reject);
      },
    );
    req.on('socket', (socket) =>
      socket.on('connect', () => (source = `${socket.localAddress}:${socket.localPort}`)),
    );
    req.on('timeout', () => req.destroy(new Error(`GET ${host}:${port}${path} timed out`)));
    req.on('error', reject);
  });
}

export async function get(host: string, port: number, path = '/'): Promise<string> {
  return (await request(host, port, path)).body;
}

/** Which pod answered: `bosun/hello`'s reply is "<greeting> from <pod> (host ...". */
export const podOf = (body: string): string => / from (\S+) \(host /.exec(body)?.[1] ?? `?${body}`;
