import net from 'net';
import { freePort } from './ports';

describe('freePort', () => {
  it('gives a port below the ephemeral range and the NodePorts that a server can then bind', async () => {
    const port = await freePort();
    expect(port).toBeGreaterThanOrEqual(20_000);
    expect(port).toBeLessThan(30_000);
    const server = net.createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', resolve);
    });
    // Held now: another call gives another port.
    expect(await freePort()).not.toBe(port);
    await new Promise((resolve) => server.close(resolve));
  });
});
