/**
 * The store on a master: every write is a Raft entry, applied by every master to its MVCC
 * state machine in the same order; a key's modRevision is the Raft index of its last change.
 * The master that proposed a write answers its caller when it applies that entry itself
 * (matched by a request id carried in the command), with the result the state machine
 * computed, which is the same on every master. Reads are linearizable (ReadIndex) unless
 * asked otherwise; watches are served from this master's own state.
 *
 * Writes on a follower go to the leader inside Raft (a forwarded proposal), so callers never
 * need to know who leads.
 */
import { randomBytes } from 'crypto';
import { Reader, Writer } from '../raft/codec';
import { NotLeaderError, RaftNode, ReadTimeoutError, StateMachine } from '../raft/node';
import { Entry, ProposalDropped } from '../raft/types';
import { Command, CommandResult, MvccStore } from './mvcc';
import {
  ListOptions,
  ListResult,
  ReadOptions,
  Storage,
  StorageEvent,
  StorageUnavailableError,
  StoredValue,
  TxnCompare,
  TxnOperation,
  WatchHandle,
} from './types';

const OP = { create: 1, update: 2, delete: 3, txn: 4 } as const;

/** `[requestId][op][fields]`: compact, and no JSON of the values on the write path. */
export function encodeCommand(requestId: string, command: Command): Uint8Array {
  const w = new Writer(64 + ('value' in command ? command.value.length : 0));
  w.string(requestId).u8(OP[command.op]);
  switch (command.op) {
    case 'create':
      w.string(command.key).bytes(command.value);
      break;
    case 'update':
      w.string(command.key)
        .bytes(command.value)
        .uint(command.expected === undefined ? 0 : command.expected + 1);
      break;
    case 'delete':
      w.string(command.key).uint(command.expected === undefined ? 0 : command.expected + 1);
      break;
    case 'txn':
      w.uint(command.compares.length);
      for (const c of command.compares) w.string(c.key).uint(c.modRevision);
      w.uint(command.operations.length);
      for (const o of command.operations) {
        w.u8(o.type === 'put' ? 1 : 2).string(o.key);
        if (o.type === 'put') w.bytes(o.value);
      }
      break;
  }
  return w.finish();
}

export function decodeCommand(data: Uint8Array): { requestId: string; command: Command } {
  const r = new Reader(data);
  const requestId = r.string();
  const op = r.u8();
  const expected = () => {
    const v = r.uint();
    return v === 0 ? undefined : v - 1;
  };
  let command: Command;
  switch (op) {
    case OP.create:
      command = { op: 'create', key: r.string(), value: Uint8Array.from(r.bytes()) };
      break;
    case OP.update: {
      const key = r.string();
      const value = Uint8Array.from(r.bytes());
      command = { op: 'update', key, value, expected: expected() };
      break;
    }
    case OP.delete:
      command = { op: 'delete', key: r.string(), expected: expected() };
      break;
    case OP.txn: {
      const compares = Array.from({ length: r.uint() }, () => ({ key: r.string(), modRevision: r.uint() }));
      const operations: TxnOperation[] = Array.from({ length: r.uint() }, () => {
        const type = r.u8();
        const key = r.string();
        return type === 1
          ? { type: 'put' as const, key, value: Uint8Array.from(r.bytes()) }
          : { type: 'delete' as const, key };
      });
      command = { op: 'txn', compares, operations };
      break;
    }
    default:
      throw new Error(`unknown store command ${op}`);
  }
  return { requestId, command };
}

interface Pending {
  resolve: (result: CommandResult) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

export interface ReplicatedStoreOptions {
  /** How long a write waits to be applied before it fails (it may still be applied later). */
  writeTimeoutMs?: number;
  historyEvents?: number;
}

export class ReplicatedStore implements Storage, StateMachine {
  readonly mvcc: MvccStore;
  private node: RaftNode | undefined;
  private readonly pending = new Map<string, Pending>();
  private readonly prefix = randomBytes(6).toString('base64url');
  private seq = 0;
  private readonly writeTimeoutMs: number;

  constructor(options: ReplicatedStoreOptions = {}) {
    this.mvcc = new MvccStore({ historyEvents: options.historyEvents });
    this.writeTimeoutMs = options.writeTimeoutMs ?? 5000;
  }

  /** Attaches the Raft node (which calls back into this store as its state machine). */
  attach(node: RaftNode): void {
    this.node = node;
  }

  // ---- StateMachine ----

  apply(entry: Entry): void {
    if (entry.type !== 'normal' || entry.data.length === 0) {
      this.mvcc.apply(entry.index, undefined);
      return;
    }
    const { requestId, command } = decodeCommand(entry.data);
    const result = this.mvcc.apply(entry.index, command);
    const pending = this.pending.get(requestId);
    if (!pending) return;
    this.pending.delete(requestId);
    clearTimeout(pending.timer);
    pending.resolve(result);
  }

  snapshot(): Uint8Array {
    return this.mvcc.snapshot();
  }

  restore(data: Uint8Array): void {
    this.mvcc.restore(data);
  }

  // ---- Storage ----

  private async propose(command: Command): Promise<CommandResult> {
    const node = this.node;
    if (!node) throw new StorageUnavailableError('the store is not started', false);
    const requestId = `${this.prefix}.${++this.seq}`;
    const data = encodeCommand(requestId, command);
    return new Promise<CommandResult>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(requestId);
        reject(
          new StorageUnavailableError(`the write was not committed within ${this.writeTimeoutMs} ms`, true),
        );
      }, this.writeTimeoutMs);
      this.pending.set(requestId, { resolve, reject, timer });
      try {
        node.propose(data);
      } catch (error) {
        clearTimeout(timer);
        this.pending.delete(requestId);
        if (error instanceof ProposalDropped) {
          reject(new StorageUnavailableError(`no leader to take the write (${error.reason})`, false));
        } else reject(error as Error);
      }
    });
  }

  private async write(command: Command): Promise<CommandResult & { ok: true }> {
    const result = await this.propose(command);
    if (!result.ok) throw result.error;
    return result;
  }

  private async barrier(options?: ReadOptions): Promise<void> {
    if (options?.consistent === false) return;
    try {
      await this.node!.readBarrier();
    } catch (error) {
      if (error instanceof NotLeaderError || error instanceof ReadTimeoutError) {
        throw new StorageUnavailableError(`cannot confirm a linearizable read: ${error.message}`, false);
      }
      throw error;
    }
  }

  async get(key: string, options?: ReadOptions): Promise<StoredValue | undefined> {
    await this.barrier(options);
    return this.mvcc.get(key);
  }

  async list(prefix: string, options: ListOptions = {}): Promise<ListResult> {
    // A page at a fixed past revision is already consistent; only "now" needs the barrier.
    if (options.revision === undefined) await this.barrier(options);
    return this.mvcc.list(prefix, options);
  }

  async create(key: string, value: Uint8Array): Promise<number> {
    return (await this.write({ op: 'create', key, value })).revision;
  }

  async update(key: string, value: Uint8Array, expectedModRevision?: number): Promise<number> {
    return (await this.write({ op: 'update', key, value, expected: expectedModRevision })).revision;
  }

  async delete(
    key: string,
    expectedModRevision?: number,
  ): Promise<{ revision: number; previous: StoredValue }> {
    const result = await this.write({ op: 'delete', key, expected: expectedModRevision });
    return { revision: result.revision, previous: result.previous! };
  }

  async txn(
    compares: TxnCompare[],
    operations: TxnOperation[],
  ): Promise<{ succeeded: boolean; revision: number }> {
    const result = await this.write({ op: 'txn', compares, operations });
    return { succeeded: result.succeeded ?? false, revision: result.revision };
  }

  watch(
    prefix: string,
    fromRevision: number,
    onEvent: (event: StorageEvent) => void,
    onClose: (reason: Error) => void,
  ): WatchHandle {
    return this.mvcc.watch(prefix, fromRevision, onEvent, onClose);
  }

  currentRevision(): number {
    return this.mvcc.currentRevision();
  }

  /** Fails every write still waiting (this master is stopping). */
  close(): void {
    for (const [, pending] of this.pending) {
      clearTimeout(pending.timer);
      pending.reject(new StorageUnavailableError('the master is stopping', true));
    }
    this.pending.clear();
  }
}
