export { Client, parseWatchStream, ResourceClient, resourcePath } from './client';
export type {
  ClientOptions,
  ListOptions,
  PatchType,
  WatchEvent,
  WatchEventType,
  WatchOptions,
  WriteOptions,
} from './client';
export { Informer } from './informer';
export type { InformerHandlers, InformerOptions } from './informer';
export { delay, errorFromResponse, Transport } from './transport';
export type { Method, RequestOptions, StreamResponse, TransportOptions } from './transport';
export { WorkQueue } from './workqueue';
export type { WorkQueueOptions } from './workqueue';
export { EventRecorder } from './events';
export type { EventSource, EventType } from './events';
