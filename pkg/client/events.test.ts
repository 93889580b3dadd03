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

  it('gives each of many events about one object, recorded in one burst, a name of its own', async () => {
    const owner = pod('web');
    // Eight sources, each within its burst of 25 for the object: 200 events, none dropped.
    const recorders = Array.from({ length: 8 }, (_, i) => new EventRecorder(client, { component: `c-${i}` }));
    recorders.forEach((recorder, r) => {
      for (let i = 0; i < 25; i++) recorder.event(owner, 'Normal', 'Created', `event ${r}-${i}`);
    });
    await Promise.all(recorders.map((recorder) => recorder.flush()));
    const events = (await client.resource('Event').list('default')).items;
    expect(new Set(events.map((e) => e.message)).size).toBe(200);
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

describe("EventRecorder's spam filter", () => {
  it('lets one source record 25 events about one object in a burst and drops the rest, as client-go does', async () => {
    const recorder = new EventRecorder(client, { component: 'replicaset-controller' });
    const owner = {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: { name: 'web', namespace: 'default', uid: 'rs-1' },
    } as const;
    for (let i = 0; i < 40; i++) recorder.event(owner, 'Normal', 'SuccessfulCreate', `Created pod: web-${i}`);
    // Another object, and another source about the same object, have buckets of their own.
    recorder.event(pod('other'), 'Normal', 'Scheduled', 'assigned other');
    const kubelet = new EventRecorder(client, { component: 'kubelet' });
    kubelet.event(owner, 'Normal', 'Seen', 'seen by another source');
    await Promise.all([recorder.flush(), kubelet.flush()]);
    const events = (await client.resource('Event').list('default')).items;
    const created = events.filter((e) => e.reason === 'SuccessfulCreate');
    expect(created).toHaveLength(25);
    expect(created.map((e) => e.message).sort()).toEqual(
      Array.from({ length: 25 }, (_, i) => `Created pod: web-${i}`).sort(),
    );
    expect(
      events
        .filter((e) => e.reason !== 'SuccessfulCreate')
        .map((e) => e.reason)
        .sort(),
    ).toEqual(['Scheduled', 'Seen']);
  });
});
