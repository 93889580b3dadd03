/**
 * Liveness, readiness and startup probes of one running container, as the kubelet runs them:
 * httpGet and tcpSocket from the node to the pod IP, exec inside the container. Each probe
 * waits initialDelaySeconds, then runs every periodSeconds with timeoutSeconds, and flips
 * only after successThreshold successes or failureThreshold failures in a row. Liveness and
 * readiness wait until the startup probe (if any) has succeeded.
 */
import http from 'http';
import https from 'https';
import net from 'net';
import { Container, Probe } from '../api';
import { ContainerRuntime } from './runtime/types';

export type ProbeKind = 'liveness' | 'readiness' | 'startup';

export interface ProbeTarget {
  podIP: string;
  containerId: string;
}

export interface ProbeResult {
  success: boolean;
  /** Why it failed, worded like the kubelet ("HTTP probe failed with statuscode: 500"). */
  message: string;
}

export interface ProbeListener {
  /** A probe's verdict changed (ready now, or liveness failed its threshold). */
  changed(kind: ProbeKind, healthy: boolean, message: string): void;
  /** One failed attempt (for the Unhealthy event). */
  failed(kind: ProbeKind, message: string): void;
}

function resolvePort(port: number | string | undefined, container: Container): number {
  if (typeof port === 'number') return port;
  const named = container.ports?.find((p) => p.name === port);
  if (named) return named.containerPort;
  const numeric = Number(port);
  if (Number.isInteger(numeric) && numeric > 0) return numeric;
  throw new Error(`port "${port}" is not a port number nor a named port of the container`);
}

export async function runProbe(
  probe: Probe,
  container: Container,
  target: ProbeTarget,
  runtime: ContainerRuntime,
): Promise<ProbeResult> {
  const timeoutMs = (probe.timeoutSeconds ?? 1) * 1000;
  try {
    if (probe.exec) {
      const result = await runtime.exec(target.containerId, probe.exec.command ?? [], timeoutMs);
      if (result.exitCode === 0) return { success: true, message: '' };
      return {
        success: false,
        message: `command ${JSON.stringify(probe.exec.command)} exited with ${result.exitCode}: ${(result.stdout + result.stderr).trim()}`,
      };
    }
    if (probe.httpGet) {
      const get = probe.httpGet;
      const host = get.host || target.podIP;
      const port = resolvePort(get.port, container);
      const scheme = (get.scheme ?? 'HTTP').toUpperCase();
      const status = await new Promise<number>((resolve, reject) => {
        const headers: Record<string, string> = { 'user-agent': 'kube-probe/1.32' };
        for (const header of get.httpHeaders ?? []) headers[header.name] = header.value;
        const request = (scheme === 'HTTPS' ? https : http).request(
          {
            host,
            port,
            path: get.path ?? '/',
            method: 'GET',
            headers,
            timeout: timeoutMs,
            rejectUnauthorized: false,
            agent: false,
          },
          (response) => {
            response.resume();
            resolve(response.statusCode ?? 0);
          },
        );
        request.on('timeout', () =>
          request.destroy(
            new Error(
              `Get "${scheme.toLowerCase()}://${host}:${port}${get.path ?? '/'}": context deadline exceeded (Client.Timeout exceeded while awaiting headers)`,
            ),
          ),
        );
        request.on('error', reject);
        request.end();
      });
      if (status >= 200 && status < 400) return { success: true, message: '' };
      return { success: false, message: `HTTP probe failed with statuscode: ${status}` };
    }
    if (probe.tcpSocket) {
      const host = probe.tcpSocket.host || target.podIP;
      const port = resolvePort(probe.tcpSocket.port, container);
      await new Promise<void>((resolve, reject) => {
        const socket = net.connect({ host, port, timeout: timeoutMs });
        socket.once('connect', () => {
          socket.destroy();
          resolve();
        });
        socket.once('timeout', () => socket.destroy(new Error(`dial tcp ${host}:${port}: i/o timeout`)));
        socket.once('error', reject);
      });
      return { success: true, message: '' };
    }
    return { success: false, message: 'probe has no handler bosun supports (grpc is not supported)' };
  } catch (error) {
    return { success: false, message: (error as Error).message };
  }
}

/** The probes of one container instance; stopped when the container stops or is replaced. */
export class ContainerProbes {
  private readonly timers = new Set<NodeJS.Timeout>();
  private stopped = false;
  /** Startup passed (true when there is no startup probe). */
  started: boolean;
  /** Readiness (true when there is no readiness probe). */
  ready: boolean;

  constructor(
    private readonly container: Container,
    private readonly target: ProbeTarget,
    private readonly runtime: ContainerRuntime,
    private readonly listener: ProbeListener,
  ) {
    this.started = !container.startupProbe;
    this.ready = !container.readinessProbe;
  }

  start(): void {
    if (this.container.startupProbe) this.loop('startup', this.container.startupProbe);
    else this.startAfterStartup();
  }

  private startAfterStartup(): void {
    if (this.container.livenessProbe) this.loop('liveness', this.container.livenessProbe);
    if (this.container.readinessProbe) this.loop('readiness', this.container.readinessProbe);
  }

  private loop(kind: ProbeKind, probe: Probe): void {
    let successes = 0;
    let failures = 0;
    // Liveness is presumed good until it fails its threshold; readiness starts not ready;
    // startup has no verdict until it succeeds or fails its threshold.
    let healthy: boolean | null = kind === 'liveness' ? true : kind === 'readiness' ? false : null;
    const period = (probe.periodSeconds ?? 10) * 1000;
    const tick = async () => {
      if (this.stopped) return;
      const result = await runProbe(probe, this.container, this.target, this.runtime);
      if (this.stopped) return;
      if (result.success) {
        successes++;
        failures = 0;
      } else {
        failures++;
        successes = 0;
        this.listener.failed(kind, result.message);
      }
      const threshold = result.success
        ? kind === 'readiness'
          ? (probe.successThreshold ?? 1)
          : 1
        : (probe.failureThreshold ?? 3);
      const count = result.success ? successes : failures;
      if (count >= threshold && healthy !== result.success) {
        healthy = result.success;
        if (kind === 'readiness') this.ready = healthy;
        if (kind === 'startup' && healthy) {
          this.started = true;
          this.listener.changed(kind, true, '');
          this.startAfterStartup();
          return; // a startup probe stops once it has succeeded
        }
        this.listener.changed(kind, healthy, result.message);
        if (kind !== 'readiness' && !healthy) return; // the container is restarted; new probes come with it
      }
      this.schedule(tick, period);
    };
    this.schedule(tick, (probe.initialDelaySeconds ?? 0) * 1000);
  }

  private schedule(fn: () => Promise<void>, ms: number): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      void fn();
    }, ms);
    this.timers.add(timer);
  }

  stop(): void {
    this.stopped = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }
}
