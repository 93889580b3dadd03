/**
 * The Namespace controller: a namespace being deleted (deletionTimestamp set, phase
 * Terminating, `kubernetes` in spec.finalizers) gets every object of every namespaced kind in
 * it deleted, reports progress in its conditions as Kubernetes' namespace controller does,
 * and once nothing is left removes `kubernetes` through namespaces/finalize, upon which the
 * apiserver removes the namespace. Pods are deleted with their grace period, so their agents
 * stop them; the namespace waits for them.
 */
import { ApiError, HasMetadata, Kind, lookupResource, Namespace, RESOURCES } from '../../api';
import { EventRecorder, Informer, resourcePath, WorkQueue } from '../../client';
import { logger } from '../../util/log';
import { Controller, ControllerContext } from '../context';

export const FINALIZER_KUBERNETES = 'kubernetes';

type NamespaceCondition = NonNullable<NonNullable<Namespace['status']>['conditions']>[number];

/** Every kind that lives in a namespace and can be listed and deleted. */
export const NAMESPACED_KINDS: readonly Kind[] = RESOURCES.filter(
  (info) => info.namespaced && info.verbs.includes('list') && info.verbs.includes('delete'),
).map((info) => info.kind);

export interface NamespaceControllerOptions {
  workers?: number;
  /** How soon a namespace whose content is still going is looked at again, at the latest. */
  recheckMs?: number;
}

const log = logger('namespace-controller');

function groupResource(kind: Kind): string {
  const info = lookupResource(kind);
  // Kubernetes prints `pods.` for the core group: resource, dot, group.
  return `${info.resource}.${info.group}`;
}

function condition(
  type: string,
  status: 'True' | 'False',
  reason: string,
  message: string,
): NamespaceCondition {
  return { type, status, reason, message } as NamespaceCondition;
}

export interface ContentReport {
  /** `pods.` → how many remain. */
  remaining: Map<string, number>;
  /** finalizer → how many remaining objects carry it. */
  finalizers: Map<string, number>;
  /** `pods.: message` for each kind that could not be listed or deleted. */
  failures: string[];
}

/** The conditions Kubernetes' namespace controller sets on a terminating namespace. */
export function deletionConditions(report: ContentReport): NamespaceCondition[] {
  const remaining = [...report.remaining].sort(([a], [b]) => (a < b ? -1 : 1));
  const finalizers = [...report.finalizers].sort(([a], [b]) => (a < b ? -1 : 1));
  return [
    condition(
      'NamespaceDeletionDiscoveryFailure',
      'False',
      'ResourcesDiscovered',
      'All resources successfully discovered',
    ),
    condition(
      'NamespaceDeletionGroupVersionParsingFailure',
      'False',
      'ParsedGroupVersions',
      'All legacy kube types successfully parsed',
    ),
    report.failures.length > 0
      ? condition(
          'NamespaceDeletionContentFailure',
          'True',
          'ContentDeletionFailed',
          `Failed to delete all resource types, ${report.failures.length} remaining: ${report.failures.join(', ')}`,
        )
      : condition(
          'NamespaceDeletionContentFailure',
          'False',
          'ContentDeleted',
          'All content successfully deleted, may be waiting on finalization',
        ),
    remaining.length > 0
      ? condition(
          'NamespaceContentRemaining',
          'True',
          'SomeResourcesRemain',
          `Some resources are remaining: ${remaining.map(([r, n]) => `${r} has ${n} resource instances`).join(', ')}`,
        )
      : condition('NamespaceContentRemaining', 'False', 'ContentRemoved', 'All content successfully removed'),
    finalizers.length > 0
      ? condition(
          'NamespaceFinalizersRemaining',
          'True',
          'SomeFinalizersRemain',
          `Some content in the namespace has finalizers remaining: ${finalizers.map(([f, n]) => `${f} in ${n} resource instances`).join(', ')}`,
        )
      : condition(
          'NamespaceFinalizersRemaining',
          'False',
          'ContentHasNoFinalizers',
          'All content-preserving finalizers finished',
        ),
  ];
}

/** The conditions to write: transition times kept where a condition's status did not change. */
function mergeConditions(
  previous: readonly NamespaceCondition[],
  next: NamespaceCondition[],
  now: string,
): { conditions: NamespaceCondition[]; changed: boolean } {
  let changed = false;
  const out = [...previous.filter((c) => !next.some((n) => n.type === c.type))];
  for (const condition of next) {
    const old = previous.find((c) => c.type === condition.type);
    const same = old && old.status === condition.status;
    if (
      !old ||
      old.status !== condition.status ||
      old.reason !== condition.reason ||
      old.message !== condition.message
    )
      changed = true;
    out.push({
      ...condition,
      lastTransitionTime: same && old.lastTransitionTime ? old.lastTransitionTime : now,
    });
  }
  return { conditions: out, changed };
}

function timestamp(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export class NamespaceController implements Controller {
  readonly name = 'namespace';
  private readonly namespaces: Informer<Namespace>;
  private readonly queue = new WorkQueue({ baseDelayMs: 100, maxDelayMs: 30_000 });
  private readonly recorder: EventRecorder;

  constructor(
    private readonly context: ControllerContext,
    private readonly options: NamespaceControllerOptions = {},
  ) {
    this.recorder = context.recorder('namespace-controller');
    this.namespaces = context.informers.informer('Namespace');
    const changed = (namespace: Namespace) => {
      if (namespace.metadata.deletionTimestamp) this.queue.add(namespace.metadata.name!);
    };
    this.namespaces.addHandlers({ add: changed, update: (_old, namespace) => changed(namespace) });
    // The last objects of a terminating namespace going is what lets it finish: look again then.
    // The informers are the shared ones (the garbage collector watches every kind anyway).
    for (const kind of NAMESPACED_KINDS) {
      (context.informers.informer(kind) as unknown as Informer<HasMetadata & { kind: string }>).addHandlers({
        delete: (object) => {
          const namespace = object.metadata.namespace;
          if (namespace && this.namespaces.get(namespace)?.metadata.deletionTimestamp)
            this.queue.add(namespace);
        },
      });
    }
  }

  async run(signal: AbortSignal): Promise<void> {
    const stop = () => this.queue.shutDown();
    signal.addEventListener('abort', stop, { once: true });
    try {
      await this.queue.run(
        this.options.workers ?? 2,
        (name) => this.sync(name),
        (name, error) =>
          log.warn('namespace sync failed; retrying', { namespace: name, error: (error as Error).message }),
      );
    } finally {
      signal.removeEventListener('abort', stop);
    }
  }

  private async sync(name: string): Promise<void> {
    const namespace = this.namespaces.get(name);
    if (!namespace?.metadata.deletionTimestamp) return;
    if (!(namespace.spec?.finalizers ?? []).includes(FINALIZER_KUBERNETES)) return;
    if (!(namespace.status?.conditions ?? []).length)
      this.recorder.event(
        namespace,
        'Normal',
        'DeletingContent',
        `Deleting all content of namespace ${name}`,
      );
    const report = await this.deleteContent(name);
    await this.reportConditions(namespace, report);
    if (report.failures.length > 0) {
      this.recorder.event(
        namespace,
        'Warning',
        'NamespaceDeletionContentFailure',
        `Failed to delete all content of namespace ${name}: ${report.failures.join(', ')}`,
      );
      throw new Error(`content of namespace ${name} not deleted: ${report.failures.join(', ')}`);
    }
    if (report.remaining.size > 0) {
      log.debug('namespace content remains', {
        namespace: name,
        remaining: Object.fromEntries(report.remaining),
      });
      this.queue.addAfter(name, this.options.recheckMs ?? 5000);
      return;
    }
    await this.finalize(name);
  }

  /** Deletes everything in the namespace, then counts what is still there. */
  private async deleteContent(namespace: string): Promise<ContentReport> {
    const report: ContentReport = { remaining: new Map(), finalizers: new Map(), failures: [] };
    await Promise.all(
      NAMESPACED_KINDS.map(async (kind) => {
        const resource = this.context.client.resource(kind);
        try {
          await resource.deleteCollection(namespace, {}).catch(async (error: unknown) => {
            // A kind without deletecollection: one by one.
            if (!(error instanceof ApiError && error.code === 405)) throw error;
            const list = await resource.listAll(namespace);
            for (const item of list.items) {
              await resource
                .delete(namespace, item.metadata.name!, {
                  propagationPolicy: 'Background',
                  preconditions: { uid: item.metadata.uid },
                })
                .catch((e: unknown) => {
                  if (!(e instanceof ApiError && (e.code === 404 || e.code === 409))) throw e;
                });
            }
          });
          const left = await resource.listAll(namespace);
          if (left.items.length === 0) return;
          report.remaining.set(groupResource(kind), left.items.length);
          for (const item of left.items) {
            for (const finalizer of item.metadata.finalizers ?? [])
              report.finalizers.set(finalizer, (report.finalizers.get(finalizer) ?? 0) + 1);
          }
        } catch (error) {
          report.failures.push(`${groupResource(kind)}: ${(error as Error).message}`);
        }
      }),
    );
    report.failures.sort();
    return report;
  }

  private async reportConditions(namespace: Namespace, report: ContentReport): Promise<void> {
    const { conditions, changed } = mergeConditions(
      namespace.status?.conditions ?? [],
      deletionConditions(report),
      timestamp(new Date()),
    );
    if (!changed) return;
    try {
      await this.context.client
        .resource('Namespace')
        .patch(undefined, namespace.metadata.name!, { status: { conditions } }, 'merge', {
          subresource: 'status',
        });
    } catch (error) {
      if (!(error instanceof ApiError && error.code === 404)) throw error;
    }
  }

  private async finalize(name: string): Promise<void> {
    const namespace = this.namespaces.get(name);
    if (!namespace) return;
    const finalizers = (namespace.spec?.finalizers ?? []).filter((f) => f !== FINALIZER_KUBERNETES);
    try {
      await this.context.client.transport.request({
        method: 'PUT',
        path: resourcePath(lookupResource('namespaces'), undefined, name, 'finalize'),
        body: { ...namespace, spec: { ...namespace.spec, finalizers } },
      });
    } catch (error) {
      if (error instanceof ApiError && error.code === 404) return;
      throw error;
    }
    log.info('namespace emptied and finalized', { namespace: name });
    this.recorder.event(
      namespace,
      'Normal',
      'NamespaceFinalized',
      `All content of namespace ${name} is deleted`,
    );
  }
}
