/**
 * pods/exec and pods/portforward, as the Kubernetes apiserver serves them: it checks the
 * request (the pod, its node, the container, the command), then forwards the client's upgrade
 * request to the agent of the pod's node (the kubelet's `/exec/...` and `/portForward/...`)
 * with that node's token, and once the agent has switched protocols it splices the two
 * connections together. The streaming protocols (WebSocket channels, SPDY) are spoken end to
 * end by the client and the agent, so the apiserver needs none of them and any version the
 * agent serves works through it.
 */
import http from 'http';
import { Duplex } from 'stream';
import {
  ApiError,
  apiErrorFromStatus,
  lookupResource,
  newBadRequest,
  newNotFound,
  newServiceUnavailable,
  Node,
  Pod,
} from '../api';
import { ObjectStore } from './objects';
import { ResourceRequest, StreamHandler } from './server';

export interface AgentEndpoint {
  node: string;
  host: string;
  port: number;
  token: string;
}

/** Where the agent of a pod's node listens, and the token it expects. */
export async function agentEndpoint(
  objects: ObjectStore,
  nodeToken: (node: string) => string | undefined,
  nodeName: string,
  what: string,
): Promise<AgentEndpoint> {
  const nodes = lookupResource('nodes');
  let node: Node;
  try {
    node = (await objects.get(nodes, undefined, nodeName)) as Node;
  } catch (error) {
    if (error instanceof ApiError && error.code === 404) throw newNotFound(nodes, nodeName);
    throw error;
  }
  const host = node.status?.addresses?.find((a) => a.type === 'InternalIP')?.address;
  const port = node.status?.daemonEndpoints?.kubeletEndpoint?.Port;
  const token = nodeToken(nodeName);
  if (!host || !port || !token)
    throw newServiceUnavailable(
      `the ${what} of node ${nodeName} cannot be reached (no agent endpoint known)`,
    );
  return { node: nodeName, host, port, token };
}

const REASON_BY_CODE: Record<number, string> = {
  400: 'BadRequest',
  403: 'Forbidden',
  404: 'NotFound',
};

/** The agent answers refusals in plain text; clients get them as a Status. */
function agentRefusal(node: string, code: number, text: string): ApiError {
  const reason = REASON_BY_CODE[code];
  const message = text.trim() || `the agent of node ${node} answered ${code}`;
  return apiErrorFromStatus({
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message: reason ? message : `the agent of node ${node} failed: ${message}`,
    reason: reason ?? 'InternalError',
    code: reason ? code : 500,
  });
}

/**
 * Sends the client's upgrade request on to the agent and, on 101, splices the connections.
 * A refusal of the agent is thrown (the caller answers it as a Status).
 */
export function proxyUpgrade(
  req: http.IncomingMessage,
  socket: Duplex,
  head: Buffer,
  agent: AgentEndpoint,
  path: string,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const headers: http.OutgoingHttpHeaders = { ...req.headers };
    delete headers.host;
    headers.authorization = `Bearer ${agent.token}`;
    const upstream = http.request({ host: agent.host, port: agent.port, method: req.method, path, headers });
    upstream.on('upgrade', (response: http.IncomingMessage, agentSocket: Duplex, agentHead: Buffer) => {
      const lines = [`HTTP/1.1 ${response.statusCode} ${response.statusMessage}`];
      for (let i = 0; i < response.rawHeaders.length; i += 2)
        lines.push(`${response.rawHeaders[i]}: ${response.rawHeaders[i + 1]}`);
      socket.write(`${lines.join('\r\n')}\r\n\r\n`);
      if (agentHead.length > 0) socket.write(agentHead);
      if (head.length > 0) agentSocket.write(head);
      agentSocket.pipe(socket);
      socket.pipe(agentSocket);
      // What the agent sent last still reaches the client (end, not destroy); a client that
      // went away has nothing left to receive, so the agent's side is dropped at once.
      agentSocket.on('close', () => socket.end());
      agentSocket.on('error', () => socket.destroy());
      socket.on('close', () => agentSocket.destroy());
      resolve();
    });
    upstream.on('response', (response: http.IncomingMessage) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => reject(agentRefusal(agent.node, response.statusCode ?? 502, body)));
      response.on('error', reject);
    });
    upstream.on('error', (error) =>
      reject(newServiceUnavailable(`the agent of node ${agent.node} does not answer: ${error.message}`)),
    );
    // A client that gives up while the agent is still answering takes the request with it.
    socket.once('close', () => upstream.destroy());
    upstream.end();
  });
}

function truthy(value: string | null): boolean {
  return value === 'true' || value === '1';
}

/**
 * `nodeToken(node)`: the token that node's agent expects. Both handlers answer through
 * `proxyUpgrade`, and throw ApiErrors for everything refused before it.
 */
export function podStreamHandlers(
  objects: ObjectStore,
  nodeToken: (node: string) => string | undefined,
): Record<'pods/exec' | 'pods/portforward', StreamHandler> {
  const pods = lookupResource('pods');
  const podOf = async (request: ResourceRequest) =>
    (await objects.get(pods, request.namespace, request.name!)) as Pod;
  const podPath = (pod: Pod) =>
    `${encodeURIComponent(pod.metadata.namespace!)}/${encodeURIComponent(pod.metadata.name!)}`;

  const exec: StreamHandler = async (request, req, socket, head) => {
    const url = new URL(req.url ?? '/', 'http://apiserver');
    const pod = await podOf(request);
    const name = pod.metadata.name!;
    const names = pod.spec.containers.map((c) => c.name);
    const initNames = (pod.spec.initContainers ?? []).map((c) => c.name);
    let container = url.searchParams.get('container') ?? '';
    if (!container) {
      if (names.length !== 1)
        throw newBadRequest(
          `a container name must be specified for pod ${name}, choose one of: [${names.join(' ')}]` +
            (initNames.length > 0 ? ` or one of the init containers: [${initNames.join(' ')}]` : ''),
        );
      container = names[0];
    }
    if (![...names, ...initNames].includes(container))
      throw newBadRequest(`container ${container} is not valid for pod ${name}`);
    const phase = pod.status?.phase;
    if (phase === 'Succeeded' || phase === 'Failed')
      throw newBadRequest(`cannot exec into a container in a completed pod; current phase is ${phase}`);
    const command = url.searchParams.getAll('command');
    if (command.length === 0) throw newBadRequest('you must specify at least 1 command');
    const streams = {
      input: truthy(url.searchParams.get('stdin')),
      output: truthy(url.searchParams.get('stdout')),
      error: truthy(url.searchParams.get('stderr')),
      tty: truthy(url.searchParams.get('tty')),
    };
    if (!streams.input && !streams.output && !streams.error)
      throw newBadRequest('you must specify at least one of stdin, stdout, stderr');
    if (!pod.spec.nodeName) throw newBadRequest(`pod ${name} does not have a host assigned`);
    const agent = await agentEndpoint(objects, nodeToken, pod.spec.nodeName, 'exec endpoint');
    const query = new URLSearchParams();
    for (const part of command) query.append('command', part);
    for (const [key, on] of Object.entries(streams)) if (on) query.set(key, '1');
    await proxyUpgrade(
      req,
      socket,
      head,
      agent,
      `/exec/${podPath(pod)}/${encodeURIComponent(container)}?${query}`,
    );
  };

  const portForward: StreamHandler = async (request, req, socket, head) => {
    const url = new URL(req.url ?? '/', 'http://apiserver');
    const pod = await podOf(request);
    if (!pod.spec.nodeName) throw newBadRequest(`pod ${pod.metadata.name} does not have a host assigned`);
    const agent = await agentEndpoint(objects, nodeToken, pod.spec.nodeName, 'port-forward endpoint');
    const query = new URLSearchParams();
    for (const ports of url.searchParams.getAll('ports')) query.append('ports', ports);
    await proxyUpgrade(
      req,
      socket,
      head,
      agent,
      `/portForward/${podPath(pod)}${query.size > 0 ? `?${query}` : ''}`,
    );
  };

  return { 'pods/exec': exec, 'pods/portforward': portForward };
}
