/**
 * The pods/log subresource, as the Kubernetes apiserver serves it: the apiserver finds the
 * pod's node and streams from that node's agent (`/containerLogs/{ns}/{pod}/{container}`,
 * the kubelet's path), presenting the node's own token so only the apiserver can read logs
 * from an agent. `kubectl logs [-f] [-c] [--previous] [--tail] [--timestamps] [--since]` work.
 */
import http from 'http';
import { Request, Response } from 'express';
import { lookupResource, newBadRequest, newServiceUnavailable, Pod } from '../api';
import { ObjectStore } from './objects';
import { agentEndpoint } from './pod-streams';
import { ResourceRequest, SubresourceHandler } from './server';

const FORWARDED_QUERY = ['follow', 'previous', 'tailLines', 'timestamps', 'sinceSeconds', 'limitBytes'];

/** `nodeToken(node)`: the token that node's agent expects (undefined: logs of that node are unavailable). */
export function podLogsHandler(
  objects: ObjectStore,
  nodeToken: (node: string) => string | undefined,
): SubresourceHandler {
  const pods = lookupResource('pods');
  return async (request: ResourceRequest, req: Request, res: Response) => {
    if (req.method !== 'GET') throw newBadRequest('pods/log supports GET only');
    const pod = (await objects.get(pods, request.namespace, request.name!)) as Pod;
    const names = pod.spec.containers.map((c) => c.name);
    const allNames = [...(pod.spec.initContainers ?? []).map((c) => c.name), ...names];
    let container = typeof req.query.container === 'string' ? req.query.container : undefined;
    if (!container) {
      if (names.length !== 1)
        throw newBadRequest(
          `a container name must be specified for pod ${pod.metadata.name}, choose one of: [${names.join(' ')}]`,
        );
      container = names[0];
    }
    if (!allNames.includes(container))
      throw newBadRequest(`container ${container} is not valid for pod ${pod.metadata.name}`);
    const nodeName = pod.spec.nodeName;
    if (!nodeName)
      throw newBadRequest(
        `container "${container}" in pod "${pod.metadata.name}" is waiting to start: pod is not scheduled`,
      );
    const { host: address, port, token } = await agentEndpoint(objects, nodeToken, nodeName, 'logs');
    const query = new URLSearchParams();
    for (const name of FORWARDED_QUERY) {
      const value = req.query[name];
      if (typeof value === 'string') query.set(name, value);
    }
    const path = `/containerLogs/${encodeURIComponent(pod.metadata.namespace!)}/${encodeURIComponent(pod.metadata.name!)}/${encodeURIComponent(container)}?${query}`;
    await new Promise<void>((resolve, reject) => {
      const upstream = http.get(
        { host: address, port, path, headers: { authorization: `Bearer ${token}` } },
        (agentResponse) => {
          const code = agentResponse.statusCode ?? 502;
          if (code !== 200) {
            // The agent's message is plain text; give it back as a Status, as Kubernetes does.
            let body = '';
            agentResponse.setEncoding('utf8');
            agentResponse.on('data', (chunk: string) => (body += chunk));
            agentResponse.on('end', () => reject(newBadRequest(body.trim() || `the agent answered ${code}`)));
            return;
          }
          res.status(200).setHeader('content-type', 'text/plain');
          res.flushHeaders();
          agentResponse.pipe(res);
          agentResponse.on('end', resolve);
          agentResponse.on('error', resolve);
        },
      );
      upstream.on('error', (error) =>
        reject(newServiceUnavailable(`the agent of node ${nodeName} does not answer: ${error.message}`)),
      );
      // A client that goes away (kubectl logs -f interrupted) ends the upstream stream too.
      res.on('close', () => {
        upstream.destroy();
        resolve();
      });
    });
  };
}
