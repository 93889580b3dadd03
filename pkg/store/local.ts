import { Command, MvccStore } from './mvcc';
import {
  ListOptions,
  ListResult,
  ReadOptions,
  Storage,
  StorageEvent,
  StoredValue,
  TxnCompare,
  TxnOperation,
  WatchHandle,
} from './types';

/**
 * The store in one process with no replication: each write is applied at once at the next
 * revision. It is what an in-memory apiserver runs on in tests (controllers, scheduler), and
 * it has exactly the semantics of the replicated store, because both apply the same MVCC
 * state machine.
 */
export class LocalStore implements Storage {
  constructor(readonly mvcc: MvccStore = new MvccStore()) {}

  private apply(command: Command) {
    const result = this.mvcc.apply(this.mvcc.currentRevision() + 1, command);
    if (!result.ok) throw result.error;
    return result;
  }

  async get(key: string, _options?: ReadOptions): Promise<StoredValue | undefined> {
    return this.mvcc.get(key);
  }

  async list(prefix: string, options: ListOptions = {}): Promise<ListResult> {
    return this.mvcc.list(prefix, options);
  }

  async create(key: string, value: Uint8Array): Promise<number> {
    return this.apply({ op: 'create', key, value }).revision;
  }

  async update(key: string, value: Uint8Array, expectedModRevision?: number): Promise<number> {
    return this.apply({ op: 'update', key, value, expected: expectedModRevision }).revision;
  }

  async delete(
    key: string,
    expectedModRevision?: number,
  ): Promise<{ revision: number; previous: StoredValue }> {
    const result = this.apply({ op: 'delete', key, expected: expectedModRevision });
    return { revision: result.revision, previous: result.previous! };
  }

  async txn(
    compares: TxnCompare[],
    operations: TxnOperation[],
  ): Promise<{ succeeded: boolean; revision: number }> {
    const result = this.apply({ op: 'txn', compares, operations });
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
}
