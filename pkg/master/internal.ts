/**
 * A master's internal endpoints, beside the Kubernetes API and behind the same auth (admin
 * only): raw key-value access to the replicated store (tests, benchmarks, debugging), the
 * Raft status, leadership transfer and membership changes. Not a Kubernetes API: nothing
 * outside bosun should depend on it.
 */
import express, { Request, Response, Router } from 'express';
import { newBadRequest, newForbidden, newServiceUnavailable, statusForError } from '../api';
import { KeyNotFoundError, StorageEvent, StorageUnavailableError } from '../store/types';
import type { Master } from './master';

function fail(res: Response, error: unknown): void {
  if (error instanceof KeyNotFoundError) {
    res.status(404).json({ error: error.message });
    return;
  }
  if (error instanceof StorageUnavailableError) {
    res.setHeader('Retry-After', '1');
    res
      .status(error.maybeApplied ? 504 : 503)
      .json({ error: error.message, maybeApplied: error.maybeApplied });
    return;
  }
  const status = statusForError(error);
  res.status(status.code ?? 500).json({ error: status.message });
}

function keyOf(req: Request): string {
  // Everything after /kv is the key, slashes included.
  return '/' + decodeURIComponent(req.path.replace(/^\/kv\/?/, ''));
}

export function internalApi(master: Master): Router {
  const router = express.Router();
  router.use((_req, res, next) => {
    if ((res.locals as { identity?: { role: string } }).identity?.role !== 'admin') {
      const status = newForbidden(undefined, '', 'the internal API is for the admin token only').toStatus();
      res.status(403).json(status);
      return;
    }
    next();
  });

  router.get('/status', (_req, res) => {
    if (!master.node.started) {
      res
        .status(503)
        .json(newServiceUnavailable('the master is starting: its WAL is not loaded yet').toStatus());
      return;
    }
    const status = master.node.status();
    res.json({
      name: master.options.name,
      role: status.role,
      term: status.term,
      leader: status.leader,
      commit: status.commit,
      applied: status.appliedIndex,
      revision: master.store.currentRevision(),
      members: status.conf,
      progress: status.progress,
    });
  });

  router.put(/^\/kv\/.+/, express.raw({ type: () => true, limit: '3mb' }), async (req, res) => {
    try {
      const value = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      const result = await master.store.txn([], [{ type: 'put', key: keyOf(req), value }]);
      res.json({ revision: result.revision });
    } catch (error) {
      fail(res, error);
    }
  });

  router.get(/^\/kv\/.+/, async (req, res) => {
    try {
      const stored = await master.store.get(keyOf(req), { consistent: req.query.consistent !== 'false' });
      if (!stored) {
        res.status(404).json({ error: `key ${keyOf(req)} not found` });
        return;
      }
      res.setHeader('X-Revision', String(stored.modRevision));
      res.type('application/octet-stream').send(Buffer.from(stored.value));
    } catch (error) {
      fail(res, error);
    }
  });

  router.delete(/^\/kv\/.+/, async (req, res) => {
    try {
      const result = await master.store.delete(keyOf(req));
      res.json({ revision: result.revision });
    } catch (error) {
      fail(res, error);
    }
  });

  router.get('/kv', async (req, res) => {
    try {
      const prefix = typeof req.query.prefix === 'string' ? req.query.prefix : '/';
      const result = await master.store.list(prefix, {
        limit: req.query.limit ? Number(req.query.limit) : undefined,
        revision: req.query.revision ? Number(req.query.revision) : undefined,
      });
      res.json({
        revision: result.revision,
        more: result.more,
        items: result.items.map((i) => ({
          key: i.key,
          modRevision: i.modRevision,
          value: Buffer.from(i.value).toString('base64'),
        })),
      });
    } catch (error) {
      fail(res, error);
    }
  });

  router.get('/watch', (req, res) => {
    const prefix = typeof req.query.prefix === 'string' ? req.query.prefix : '/';
    const from = Number(req.query.from ?? master.store.currentRevision());
    const line = (event: StorageEvent) =>
      JSON.stringify({
        type: event.type,
        key: event.key,
        revision: event.modRevision,
        value: event.value ? Buffer.from(event.value).toString('base64') : undefined,
      }) + '\n';
    try {
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      const handle = master.store.watch(
        prefix,
        from,
        (event) => res.write(line(event)),
        (reason) => {
          res.end(JSON.stringify({ error: reason.message }) + '\n');
        },
      );
      req.on('close', () => handle.stop());
    } catch (error) {
      res.end(JSON.stringify({ error: (error as Error).message }) + '\n');
    }
  });

  router.post('/transfer-leadership', (req, res) => {
    const to = typeof req.query.to === 'string' ? req.query.to : '';
    if (!to) {
      res.status(400).json(newBadRequest('name the master to hand leadership to with ?to=').toStatus());
      return;
    }
    master.node.transferLeadership(to);
    res.json({ transferring: to });
  });

  router.post('/members', express.json(), (req, res) => {
    const body = req.body as { type?: string; node?: string; address?: string };
    if (!body.node || !['addVoter', 'addLearner', 'removeNode'].includes(body.type ?? '')) {
      res
        .status(400)
        .json(
          newBadRequest(
            'want {"type": "addVoter|addLearner|removeNode", "node": NAME, "address": "HOST:PORT"}',
          ).toStatus(),
        );
      return;
    }
    try {
      master.node.proposeMembership({
        type: body.type as 'addVoter',
        node: body.node,
        address: body.address,
      });
      res.json({ proposed: body });
    } catch (error) {
      res.status(409).json({ error: (error as Error).message });
    }
  });
  return router;
}
