export { Client, parseWatchStream, ResourceClient, resourcePath } from './client';
export type {
  ClientOptions,
  ListOptions,
  PatchType,
  PodLogOptions,
  WatchEvent,
  WatchEventType,
  WatchOptions,
  WriteOptions,
} from './client';
export { Informer } from './informer';
export type { IndexFunc, InformerHandlers, InformerOptions } from './informer';
export { delay, errorFromResponse, Transport } from './transport';
export type {
  LocalDispatch,
  LocalRequest,
  LocalResponse,
  Method,
  RequestOptions,
  StreamResponse,
  TransportOptions,
} from './transport';
export { WorkQueue } from './workqueue';
export type { WorkQueueOptions } from './workqueue';
export { EventRecorder } from './events';
export type { EventSource, EventType } from './events';
export {
  Channel,
  channelMessage,
  EXEC_PROTOCOL_V4,
  EXEC_PROTOCOL_V5,
  EXEC_PROTOCOLS,
  execInPod,
  exitCodeOf,
  exitStatus,
  openWebSocket,
  PORT_FORWARD_CHANNEL_PROTOCOLS,
  PORT_FORWARD_PROTOCOL,
  PORT_FORWARD_SPDY_TUNNEL_PROTOCOL,
} from './streaming';
export type { ExecOptions } from './streaming';
