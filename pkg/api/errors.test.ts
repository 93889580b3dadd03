import {
  AlreadyExistsError,
  ApiError,
  apiErrorFromStatus,
  BadRequestError,
  ConflictError,
  ExpiredError,
  ForbiddenError,
  GoneError,
  InternalError,
  InvalidError,
  MethodNotAllowedError,
  newAlreadyExists,
  newBadRequest,
  newConflict,
  newForbidden,
  newGone,
  newInternalError,
  newInvalid,
  newMethodNotAllowed,
  newNotFound,
  newRequestEntityTooLarge,
  newResourceExpired,
  newServiceUnavailable,
  newTimeout,
  newTooManyRequests,
  newUnauthorized,
  newUnsupportedMediaType,
  NotFoundError,
  RequestEntityTooLargeError,
  ServiceUnavailableError,
  statusForError,
  TimeoutError,
  TooManyRequestsError,
  UnauthorizedError,
  UnsupportedMediaTypeError,
} from './errors';
import { FieldError } from './field';
import { lookupResource } from './registry';

const pods = lookupResource('pods');
const deployments = lookupResource('deployments');

describe('API errors', () => {
  it('builds NotFound exactly as Kubernetes', () => {
    expect(newNotFound(pods, 'web').toStatus()).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'pods "web" not found',
      reason: 'NotFound',
      details: { name: 'web', kind: 'pods' },
      code: 404,
    });
    expect(newNotFound(deployments, 'web').toStatus().details).toEqual({
      name: 'web',
      group: 'apps',
      kind: 'deployments',
    });
  });

  it('serialises fields in the order Kubernetes does', () => {
    expect(JSON.stringify(newAlreadyExists(deployments, 'web').toStatus())).toBe(
      '{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"deployments.apps \\"web\\" already exists",' +
        '"reason":"AlreadyExists","details":{"name":"web","group":"apps","kind":"deployments"},"code":409}',
    );
  });

  it('builds Invalid with one cause per field error', () => {
    const status = newInvalid(deployments, 'web', [
      FieldError.invalid('spec.replicas', -1, 'must be greater than or equal to 0'),
      FieldError.required('spec.template.spec.containers[0].image'),
    ]).toStatus();
    expect(status).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message:
        'Deployment.apps "web" is invalid: [spec.replicas: Invalid value: -1: must be greater than or equal to 0, ' +
        'spec.template.spec.containers[0].image: Required value]',
      reason: 'Invalid',
      details: {
        name: 'web',
        group: 'apps',
        kind: 'Deployment',
        causes: [
          {
            reason: 'FieldValueInvalid',
            message: 'Invalid value: -1: must be greater than or equal to 0',
            field: 'spec.replicas',
          },
          {
            reason: 'FieldValueRequired',
            message: 'Required value',
            field: 'spec.template.spec.containers[0].image',
          },
        ],
      },
      code: 422,
    });
    expect(newInvalid(pods, 'p', [FieldError.required('spec.containers')]).message).toBe(
      'Pod "p" is invalid: spec.containers: Required value',
    );
  });

  it.each([
    [
      newConflict(pods, 'web'),
      409,
      'Conflict',
      'Operation cannot be fulfilled on pods "web": the object has been modified; please apply your changes to the latest version and try again',
    ],
    [newBadRequest('the request body is not JSON'), 400, 'BadRequest', 'the request body is not JSON'],
    [newUnauthorized(), 401, 'Unauthorized', 'not authorized'],
    [newUnauthorized('Unauthorized'), 401, 'Unauthorized', 'Unauthorized'],
    [newForbidden(pods, 'web', 'no token'), 403, 'Forbidden', 'pods "web" is forbidden: no token'],
    [newForbidden(pods, '', 'no token'), 403, 'Forbidden', 'pods is forbidden: no token'],
    [newForbidden(undefined, '', 'no token'), 403, 'Forbidden', 'forbidden: no token'],
    [
      newMethodNotAllowed(lookupResource('bindings'), 'delete'),
      405,
      'MethodNotAllowed',
      'delete is not supported on resources of kind "bindings"',
    ],
    [newGone('the resource is gone'), 410, 'Gone', 'the resource is gone'],
    [
      newResourceExpired('too old resource version: 5 (10)'),
      410,
      'Expired',
      'too old resource version: 5 (10)',
    ],
    [
      newRequestEntityTooLarge('limit is 3145728'),
      413,
      'RequestEntityTooLarge',
      'Request entity too large: limit is 3145728',
    ],
    [
      newUnsupportedMediaType(['application/json', 'application/yaml']),
      415,
      'UnsupportedMediaType',
      'the body of the request was in an unknown format - accepted media types include: application/json, application/yaml',
    ],
    [newTooManyRequests('slow down', 1), 429, 'TooManyRequests', 'slow down'],
    [newInternalError(new Error('disk full')), 500, 'InternalError', 'Internal error occurred: disk full'],
    [newServiceUnavailable('no leader'), 503, 'ServiceUnavailable', 'no leader'],
    [
      newTimeout('request did not complete within 60s', 2),
      504,
      'Timeout',
      'Timeout: request did not complete within 60s',
    ],
  ])('%#: %s', (error, code, reason, message) => {
    const status = error.toStatus();
    expect(status).toMatchObject({
      kind: 'Status',
      apiVersion: 'v1',
      status: 'Failure',
      code,
      reason,
      message,
    });
    expect(error.code).toBe(code);
    expect(error.message).toBe(message);
  });

  it.each([
    [newNotFound(pods, 'a'), NotFoundError],
    [newAlreadyExists(pods, 'a'), AlreadyExistsError],
    [newConflict(pods, 'a'), ConflictError],
    [newInvalid(pods, 'a', [FieldError.required('spec.containers')]), InvalidError],
    [newBadRequest('x'), BadRequestError],
    [newUnauthorized(), UnauthorizedError],
    [newForbidden(pods, 'a', 'x'), ForbiddenError],
    [newMethodNotAllowed(pods, 'x'), MethodNotAllowedError],
    [newGone('x'), GoneError],
    [newResourceExpired('x'), ExpiredError],
    [newRequestEntityTooLarge('x'), RequestEntityTooLargeError],
    [newUnsupportedMediaType(['application/json']), UnsupportedMediaTypeError],
    [newTooManyRequests('x', 3), TooManyRequestsError],
    [newInternalError('x'), InternalError],
    [newServiceUnavailable('x'), ServiceUnavailableError],
    [newTimeout('x'), TimeoutError],
  ])('round-trips %s through its Status, as JSON', (error, errorClass) => {
    const rebuilt = apiErrorFromStatus(JSON.parse(JSON.stringify(error.toStatus())));
    expect(rebuilt).toBeInstanceOf(errorClass);
    expect(rebuilt).toBeInstanceOf(ApiError);
    expect(rebuilt.name).toBe(errorClass.name);
    expect(rebuilt.toStatus()).toEqual(error.toStatus());
  });

  it('gives the causes of a rebuilt Invalid error', () => {
    const rebuilt = apiErrorFromStatus(
      newInvalid(pods, 'p', [FieldError.required('spec.containers')]).toStatus(),
    );
    expect(rebuilt instanceof InvalidError && rebuilt.causes).toEqual([
      { reason: 'FieldValueRequired', message: 'Required value', field: 'spec.containers' },
    ]);
  });

  it('keeps unknown reasons as a plain ApiError', () => {
    const rebuilt = apiErrorFromStatus({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'teapot',
      reason: 'Teapot',
      code: 418,
    });
    expect(rebuilt.constructor).toBe(ApiError);
    expect(rebuilt).toMatchObject({ code: 418, reason: 'Teapot', message: 'teapot' });
  });

  it('turns anything thrown into a Status', () => {
    expect(statusForError(newNotFound(pods, 'x')).code).toBe(404);
    expect(statusForError(new TypeError('oops'))).toMatchObject({
      code: 500,
      reason: 'InternalError',
      message: 'Internal error occurred: oops',
    });
  });
});
