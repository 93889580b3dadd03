/**
 * API errors: one class per Kubernetes StatusReason, built by the `new*` functions with
 * Kubernetes' exact messages (k8s.io/apimachinery/pkg/api/errors), turned into a `Status`
 * with `toStatus()` (what the apiserver writes, with `code` as the HTTP status) and back with
 * `apiErrorFromStatus()` (what the client throws).
 */
import { aggregateMessage, FieldError } from './field';
import { qualifiedKind, qualifiedResource } from './registry';
import type { Status, StatusCause, StatusDetails } from './types';

export type StatusReason =
  | 'NotFound'
  | 'AlreadyExists'
  | 'Conflict'
  | 'Invalid'
  | 'BadRequest'
  | 'Unauthorized'
  | 'Forbidden'
  | 'MethodNotAllowed'
  | 'Gone'
  | 'Expired'
  | 'RequestEntityTooLarge'
  | 'UnsupportedMediaType'
  | 'TooManyRequests'
  | 'InternalError'
  | 'ServiceUnavailable'
  | 'Timeout'
  | 'ServerTimeout';

/** What identifies a resource in messages: `pods`, `deployments.apps`. A ResourceInfo will do. */
export interface GroupResource {
  group: string;
  resource: string;
}

/** What identifies a kind in Invalid messages: `Pod`, `Deployment.apps`. A ResourceInfo will do. */
export interface GroupKind {
  group: string;
  kind: string;
}

/** The Kubernetes optimistic-concurrency message of a 409 Conflict. */
export const OPTIMISTIC_LOCK_MESSAGE =
  'the object has been modified; please apply your changes to the latest version and try again';

/** An error the API returns as a Status. `code` is its HTTP status. */
export class ApiError extends Error {
  readonly code: number;
  readonly reason: string;
  readonly details: StatusDetails | undefined;

  constructor(status: Status) {
    super(status.message ?? '');
    this.name = new.target.name;
    this.code = status.code ?? 500;
    this.reason = status.reason ?? '';
    this.details = status.details ? structuredClone(status.details) : undefined;
  }

  /** The Status object, exactly as Kubernetes serialises it (empty fields left out). */
  toStatus(): Status {
    const status: Status = {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: this.message,
    };
    if (this.reason) status.reason = this.reason;
    if (this.details) status.details = structuredClone(this.details);
    status.code = this.code;
    return status;
  }
}

export class NotFoundError extends ApiError {}
export class AlreadyExistsError extends ApiError {}
export class ConflictError extends ApiError {}
export class InvalidError extends ApiError {
  /** The field errors, as causes (`reason` is the FieldErrorType, `message` the body). */
  get causes(): StatusCause[] {
    return this.details?.causes ?? [];
  }
}
export class BadRequestError extends ApiError {}
export class UnauthorizedError extends ApiError {}
export class ForbiddenError extends ApiError {}
export class MethodNotAllowedError extends ApiError {}
export class GoneError extends ApiError {}
/** 410 with reason Expired: a watch or list asked for a resourceVersion that was compacted away. */
export class ExpiredError extends ApiError {}
export class RequestEntityTooLargeError extends ApiError {}
export class UnsupportedMediaTypeError extends ApiError {}
export class TooManyRequestsError extends ApiError {}
export class InternalError extends ApiError {}
export class ServiceUnavailableError extends ApiError {}
export class TimeoutError extends ApiError {}
export class ServerTimeoutError extends ApiError {}

type ApiErrorClass = new (status: Status) => ApiError;

const CLASS_BY_REASON: Record<StatusReason, ApiErrorClass> = {
  NotFound: NotFoundError,
  AlreadyExists: AlreadyExistsError,
  Conflict: ConflictError,
  Invalid: InvalidError,
  BadRequest: BadRequestError,
  Unauthorized: UnauthorizedError,
  Forbidden: ForbiddenError,
  MethodNotAllowed: MethodNotAllowedError,
  Gone: GoneError,
  Expired: ExpiredError,
  RequestEntityTooLarge: RequestEntityTooLargeError,
  UnsupportedMediaType: UnsupportedMediaTypeError,
  TooManyRequests: TooManyRequestsError,
  InternalError: InternalError,
  ServiceUnavailable: ServiceUnavailableError,
  Timeout: TimeoutError,
  ServerTimeout: ServerTimeoutError,
};

function failure(code: number, reason: StatusReason, message: string, details?: StatusDetails): Status {
  const status: Status = {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason,
    code,
  };
  if (details) status.details = details;
  return status;
}

/** Details with Kubernetes' omitempty: no empty group or name. */
function resourceDetails(resource: GroupResource, name?: string): StatusDetails {
  const details: StatusDetails = {};
  if (name) details.name = name;
  if (resource.group) details.group = resource.group;
  details.kind = resource.resource;
  return details;
}

function quote(name: string): string {
  return JSON.stringify(name);
}

export function newNotFound(resource: GroupResource, name: string): NotFoundError {
  return new NotFoundError(
    failure(
      404,
      'NotFound',
      `${qualifiedResource(resource)} ${quote(name)} not found`,
      resourceDetails(resource, name),
    ),
  );
}

export function newAlreadyExists(resource: GroupResource, name: string): AlreadyExistsError {
  return new AlreadyExistsError(
    failure(
      409,
      'AlreadyExists',
      `${qualifiedResource(resource)} ${quote(name)} already exists`,
      resourceDetails(resource, name),
    ),
  );
}

/** 409 Conflict; the reason defaults to the optimistic-concurrency message. */
export function newConflict(
  resource: GroupResource,
  name: string,
  reason: string = OPTIMISTIC_LOCK_MESSAGE,
): ConflictError {
  return new ConflictError(
    failure(
      409,
      'Conflict',
      `Operation cannot be fulfilled on ${qualifiedResource(resource)} ${quote(name)}: ${reason}`,
      resourceDetails(resource, name),
    ),
  );
}

/** 422 Invalid with every field error as a cause: `Deployment.apps "web" is invalid: [a, b]`. */
export function newInvalid(kind: GroupKind, name: string, errors: readonly FieldError[]): InvalidError {
  const causes: StatusCause[] = errors.map((error) => ({
    reason: error.type,
    message: error.body(),
    field: error.field,
  }));
  const details: StatusDetails = {};
  if (name) details.name = name;
  if (kind.group) details.group = kind.group;
  details.kind = kind.kind;
  details.causes = causes;
  const subject = `${qualifiedKind(kind)} ${quote(name)} is invalid`;
  return new InvalidError(
    failure(
      422,
      'Invalid',
      errors.length === 0 ? subject : `${subject}: ${aggregateMessage(errors)}`,
      details,
    ),
  );
}

export function newBadRequest(message: string): BadRequestError {
  return new BadRequestError(failure(400, 'BadRequest', message));
}

export function newUnauthorized(message = ''): UnauthorizedError {
  return new UnauthorizedError(failure(401, 'Unauthorized', message || 'not authorized'));
}

export function newForbidden(
  resource: GroupResource | undefined,
  name: string,
  reason: string,
): ForbiddenError {
  if (!resource || (!resource.group && !resource.resource))
    return new ForbiddenError(failure(403, 'Forbidden', `forbidden: ${reason}`, {}));
  const subject = name ? `${qualifiedResource(resource)} ${quote(name)}` : qualifiedResource(resource);
  return new ForbiddenError(
    failure(403, 'Forbidden', `${subject} is forbidden: ${reason}`, resourceDetails(resource, name)),
  );
}

/** `action` is the verb (`create`, `deletecollection`, ...). */
export function newMethodNotAllowed(resource: GroupResource, action: string): MethodNotAllowedError {
  return new MethodNotAllowedError(
    failure(
      405,
      'MethodNotAllowed',
      `${action} is not supported on resources of kind ${quote(qualifiedResource(resource))}`,
      resourceDetails(resource),
    ),
  );
}

export function newGone(message: string): GoneError {
  return new GoneError(failure(410, 'Gone', message));
}

export function newResourceExpired(message: string): ExpiredError {
  return new ExpiredError(failure(410, 'Expired', message));
}

export function newRequestEntityTooLarge(message: string): RequestEntityTooLargeError {
  return new RequestEntityTooLargeError(
    failure(413, 'RequestEntityTooLarge', `Request entity too large: ${message}`),
  );
}

export function newUnsupportedMediaType(supported: readonly string[]): UnsupportedMediaTypeError {
  return new UnsupportedMediaTypeError(
    failure(
      415,
      'UnsupportedMediaType',
      `the body of the request was in an unknown format - accepted media types include: ${supported.join(', ')}`,
    ),
  );
}

export function newTooManyRequests(message: string, retryAfterSeconds?: number): TooManyRequestsError {
  return new TooManyRequestsError(
    failure(
      429,
      'TooManyRequests',
      message,
      retryAfterSeconds === undefined ? undefined : { retryAfterSeconds },
    ),
  );
}

export function newInternalError(error: unknown): InternalError {
  const message = error instanceof Error ? error.message : String(error);
  return new InternalError(
    failure(500, 'InternalError', `Internal error occurred: ${message}`, { causes: [{ message }] }),
  );
}

export function newServiceUnavailable(message: string): ServiceUnavailableError {
  return new ServiceUnavailableError(failure(503, 'ServiceUnavailable', message));
}

/** 504: the request took longer than allowed; it may still complete. */
export function newTimeout(message: string, retryAfterSeconds?: number): TimeoutError {
  return new TimeoutError(
    failure(
      504,
      'Timeout',
      `Timeout: ${message}`,
      retryAfterSeconds === undefined ? undefined : { retryAfterSeconds },
    ),
  );
}

/** The error a Status stands for, of the class of its reason (ApiError when the reason is unknown). */
export function apiErrorFromStatus(status: Status): ApiError {
  const reason = status.reason as StatusReason | undefined;
  const errorClass =
    reason !== undefined && Object.prototype.hasOwnProperty.call(CLASS_BY_REASON, reason)
      ? CLASS_BY_REASON[reason]
      : ApiError;
  return new errorClass(status);
}

/** The Status to answer with for any thrown value: its own for an ApiError, a 500 otherwise. */
export function statusForError(error: unknown): Status {
  return (error instanceof ApiError ? error : newInternalError(error)).toStatus();
}
