/**
 * A loopback HTTP proxy in front of an apiserver that answers chosen requests itself with a
 * Status (a quota rejection, an outage), so a test can make a controller's writes fail the way
 * a real cluster would without changing the controller or the apiserver.
 */
import http from 'http';
import { AddressInfo } from 'net';
import { Status } from '../../pkg/api';

export type Fault = (method: string, path: string) => Status | undefined;

export interface FaultProxy {
  url: string;
  /** The rule deciding which requests fail; undefined lets everything through. */
  fault: Fault | undefined;
  close(): Promise<void>;
}

export async function startFaultProxy(target: string): Promise<FaultProxy> {
  const upstream = new URL(target);
  const proxy: FaultProxy = { url: '', fault: undefined, close: async () => undefined };
  const server = http.createServer((req, res) => {
    const status = proxy.fault?.(req.method ?? 'GET', (req.url ?? '').split('?')[0]);
    if (status) {
      req.resume();
      res.writeHead(status.code ?? 500, { 'content-type': 'application/json' });
      res.end(JSON.stringify(status));
      return;
    }
    const forward = http.request(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: upstream.host },
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    forward.on('error', () => res.destroy());
    res.on('close', () => forward.destroy());
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  proxy.close = () =>
    new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return proxy;
}
