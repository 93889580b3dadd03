import { Pod } from '../api';
import { startLocalApiServer, LocalApiServer } from '../apiserver/local';
import { Client } from './client';
import { EventRecorder } from './events';

let api: LocalApiServer;
let client: Client;

beforeEach(async () => {
  api = await startLocalApiServer();
  client = new Client({ servers: [api.url], token: api.adminToken });
});

afterEach(async () => {
  client.close();
  await api.close();
});

const pod = (name: string) =>
  ({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default', uid: `uid-${name}` } }) as Pod;

describe('EventRecorder', () => {
  it('counts repeats of one event on one Event object, in order, however fast they come', async () => {
    const recorder = new EventRecorder(client, { component: 'test' });
    for (let i = 0; i < 5; i++)
      recorder.event(pod('web'), 'Warning', 'BackOff', 'Back-off restarting failed container');
    await recorder.flush();
    const events = (await client.resource('Event').list('default')).items;
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      count: 5,
      reason: 'BackOff',
      type: 'Warning',
      source: { component: 'test' },
      involvedObject: { kind: 'Pod', name: 'web', uid: 'uid-web' },
    });
  });

  it('writes many distinct events concurrently and flushes them all', async () => {
    const recorder = new EventRecorder(client, { component: 'test' });
    for (let i = 0; i < 100; i++) recorder.event(pod(`p-${i}`), 'Normal', 'Scheduled', `assigned p-${i}`);
    recorder.event(pod('p-0'), 'Normal', 'Scheduled', 'assigned p-0');
    await recorder.flush();
    const events = (await client.resource('Event').list('default')).items;
    expect(events).toHaveLength(100);
    expect(events.find((e) => e.involvedObject.name === 'p-0')?.count).toBe(2);
  });
});
