/**
 * Requests of this very process (the leader's control loops to their own master) served with
 * no socket: the request and response objects the resource handler needs from express, and
 * nothing more. JSON still goes both ways, so a caller never shares an object with the store.
 */
import { Request, Response } from 'express';

/** A request as the client hands it over: what would have gone over HTTP. */
export interface InProcessRequest {
  method: string;
  /** The path without its query. */
  path: string;
  query: Record<string, string>;
  headers: Record<string, string>;
  body?: Buffer;
}

export interface InProcessAnswer {
  status: number;
  body: string;
}

const IN_PROCESS = Symbol('in-process request');

/** What only HTTP carries (watches, subresources with handlers of their own): the caller goes over HTTP. */
export class NotServedInProcess extends Error {
  constructor(what: string) {
    super(`${what} is not served in process`);
    this.name = 'NotServedInProcess';
  }
}

export function inProcessRequest(request: InProcessRequest): Request {
  return { ...request, [IN_PROCESS]: true } as unknown as Request;
}

export function isInProcess(req: Request): boolean {
  return (req as unknown as Record<symbol, unknown>)[IN_PROCESS] === true;
}

/** The part of express's Response the resource handler writes to, kept in memory. */
export class InProcessResponse {
  readonly locals: Record<string, unknown> = {};
  statusCode = 200;
  headersSent = false;
  body = '';

  /** Headers (Warning, Retry-After) matter to HTTP clients only: the in-process caller reads status and body. */
  setHeader(): this {
    return this;
  }

  status(code: number): this {
    this.statusCode = code;
    return this;
  }

  type(): this {
    return this;
  }

  json(object: unknown): this {
    return this.send(JSON.stringify(object) ?? '');
  }

  send(body: string): this {
    this.body = body;
    this.headersSent = true;
    return this;
  }

  end(): this {
    this.headersSent = true;
    return this;
  }

  asResponse(): Response {
    return this as unknown as Response;
  }
}
