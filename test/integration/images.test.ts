import Docker from 'dockerode';
import {
  buildImages,
  containerAddress,
  createTestNetwork,
  docker,
  newTestRunId,
  removeTestResources,
  TEST_RUN_LABEL,
} from '../support/docker';
import { waitFor } from '../support/wait';

jest.setTimeout(120_000);

const runId = newTestRunId();
const network = `bosun-test-${runId}`;

beforeAll(async () => {
  await buildImages();
  await createTestNetwork(runId, network);
});

afterAll(async () => {
  await removeTestResources(runId);
});

async function runContainer(
  image: string,
  name: string,
  env: string[] = [],
  cmd?: string[],
): Promise<Docker.Container> {
  const container = await docker().createContainer({
    Image: image,
    name: `${network}-${name}`,
    Env: env,
    Cmd: cmd,
    Labels: { [TEST_RUN_LABEL]: runId },
    HostConfig: { NetworkMode: network },
  });
  await container.start();
  return container;
}

async function get(url: string): Promise<{ status: number; body: string }> {
  const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
  return { status: response.status, body: await response.text() };
}

describe('bosun/hello:local', () => {
  it('answers HTTP with its pod name, hostname and a counter, and reports health', async () => {
    const container = await runContainer('bosun/hello:local', 'hello', ['POD_NAME=hello-abc', 'GREETING=hi']);
    const address = await containerAddress(container, network);
    const first = await waitFor('hello to answer', () => get(`http://${address}:8080/`));
    expect(first.status).toBe(200);
    expect(first.body).toMatch(/^hi from hello-abc \(host [0-9a-f]{12}\) #1 client /);
    expect((await get(`http://${address}:8080/`)).body).toContain('#2');

    expect(await get(`http://${address}:8080/healthz`)).toEqual({ status: 200, body: 'ok\n' });
    await fetch(`http://${address}:8080/control/readiness/fail`, { method: 'POST' });
    expect((await get(`http://${address}:8080/readyz`)).status).toBe(500);
    expect((await get(`http://${address}:8080/healthz`)).status).toBe(200);
  });

  it('serves on another port and fails liveness when asked', async () => {
    const container = await runContainer('bosun/hello:local', 'port', ['PORT=9090', 'FAIL_LIVENESS=1']);
    const address = await containerAddress(container, network);
    const health = await waitFor('hello on 9090', () => get(`http://${address}:9090/healthz`));
    expect(health.status).toBe(500);
  });

  it('exits with the asked code after EXIT_AFTER seconds', async () => {
    const container = await runContainer('bosun/hello:local', 'exit', ['EXIT_AFTER=1', 'EXIT_CODE=3']);
    const result = (await container.wait()) as { StatusCode: number };
    expect(result.StatusCode).toBe(3);
  });

  it('carries a shell and busybox tools, and node for HTTP from inside', async () => {
    const container = await runContainer(
      'bosun/hello:local',
      'shell',
      [],
      ['sh', '-c', 'echo "$(ls /bin | wc -l) tools" && node -e "console.log(process.version)"'],
    );
    await container.wait();
    const logs = (await container.logs({ stdout: true, stderr: true })).toString('utf8');
    expect(logs).toMatch(/\d{3} tools/);
    expect(logs).toContain(process.version);
  });
});

describe('bosun/pause:local', () => {
  it('holds on until SIGTERM and then exits 0', async () => {
    const container = await runContainer('bosun/pause:local', 'pause');
    expect((await container.inspect()).State.Running).toBe(true);
    await container.kill({ signal: 'SIGTERM' });
    const result = (await container.wait()) as { StatusCode: number };
    expect(result.StatusCode).toBe(0);
  });
});
