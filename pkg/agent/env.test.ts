import { Pod, Service } from '../api';
import { containerEnvironment, serviceVariables } from './env';

function service(name: string, spec: Service['spec']): Service {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'default' }, spec };
}

describe('service environment variables', () => {
  it('names them as Kubernetes does, Docker-link variables included', () => {
    const vars = new Map(
      serviceVariables([
        service('web-front', {
          clusterIP: '10.96.0.11',
          ports: [
            { name: 'http', port: 80, targetPort: 8080 },
            { name: 'grpc-api', port: 9000, protocol: 'TCP' },
          ],
        }),
      ]),
    );
    expect(Object.fromEntries(vars)).toEqual({
      WEB_FRONT_SERVICE_HOST: '10.96.0.11',
      WEB_FRONT_SERVICE_PORT: '80',
      WEB_FRONT_SERVICE_PORT_HTTP: '80',
      WEB_FRONT_SERVICE_PORT_GRPC_API: '9000',
      WEB_FRONT_PORT: 'tcp://10.96.0.11:80',
      WEB_FRONT_PORT_80_TCP: 'tcp://10.96.0.11:80',
      WEB_FRONT_PORT_80_TCP_PROTO: 'tcp',
      WEB_FRONT_PORT_80_TCP_PORT: '80',
      WEB_FRONT_PORT_80_TCP_ADDR: '10.96.0.11',
      WEB_FRONT_PORT_9000_TCP: 'tcp://10.96.0.11:9000',
      WEB_FRONT_PORT_9000_TCP_PROTO: 'tcp',
      WEB_FRONT_PORT_9000_TCP_PORT: '9000',
      WEB_FRONT_PORT_9000_TCP_ADDR: '10.96.0.11',
    });
  });

  it('gives none for headless or ExternalName Services', () => {
    expect(
      serviceVariables([
        service('h', { clusterIP: 'None', ports: [{ port: 80 }] }),
        service('x', { type: 'ExternalName', externalName: 'example.org', ports: [{ port: 80 }] }),
      ]),
    ).toEqual([]);
  });

  it('puts them before the container’s own env, which may override them; enableServiceLinks: false drops them', () => {
    const pod: Pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p', namespace: 'default' },
      spec: {
        containers: [{ name: 'c', image: 'x', env: [{ name: 'WEB_SERVICE_PORT', value: '8000' }] }],
      },
    };
    const sources = {
      configMap: () => undefined,
      secret: () => undefined,
      services: () => [service('web', { clusterIP: '10.96.0.12', ports: [{ port: 80 }] })],
    };
    const context = { nodeName: 'n', hostIP: '127.0.0.1', podIP: '172.18.0.2' };
    const env = new Map(containerEnvironment(pod, pod.spec.containers[0], sources, context));
    expect(env.get('WEB_SERVICE_HOST')).toBe('10.96.0.12');
    expect(env.get('WEB_SERVICE_PORT')).toBe('8000');
    const unlinked = { ...pod, spec: { ...pod.spec, enableServiceLinks: false } };
    expect(
      new Map(containerEnvironment(unlinked, pod.spec.containers[0], sources, context)).has(
        'WEB_SERVICE_HOST',
      ),
    ).toBe(false);
  });
});
