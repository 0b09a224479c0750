/**
 * `Status` error bodies with the shapes a real API server returns, and the error type the route
 * handlers throw to send one.
 */
import type { Obj } from './util.ts';

/** One entry of `details.causes`. */
export interface Cause {
  reason?: string;
  message: string;
  field?: string;
}

/** An API failure: the HTTP code plus the `Status` object to send as the body. */
export class ApiError extends Error {
  readonly code: number;
  readonly reason: string;
  readonly details: Obj | undefined;
  readonly headers: Record<string, string>;
  constructor(code: number, reason: string, message: string, details?: Obj, headers: Record<string, string> = {}) {
    super(message);
    this.code = code;
    this.reason = reason;
    this.details = details;
    this.headers = headers;
  }

  /** The `Status` object for the response body. */
  toStatus(): Obj {
    const status: Obj = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: this.message };
    if (this.reason) status.reason = this.reason;
    if (this.details) status.details = this.details;
    status.code = this.code;
    return status;
  }
}

/** 404 `<plural> "<name>" not found`. */
export function notFound(plural: string, name: string): ApiError {
  return new ApiError(404, 'NotFound', `${plural} "${name}" not found`, { name, kind: plural });
}

/** 409 `<plural> "<name>" already exists`, prefixed while the old object is terminating. */
export function alreadyExists(plural: string, name: string, terminating = false): ApiError {
  const prefix = terminating ? 'object is being deleted: ' : '';
  return new ApiError(409, 'AlreadyExists', `${prefix}${plural} "${name}" already exists`, { name, kind: plural });
}

/** 409 Conflict for a stale resourceVersion. */
export function conflict(plural: string, name: string): ApiError {
  return new ApiError(
    409,
    'Conflict',
    `Operation cannot be fulfilled on ${plural} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
    { name, kind: plural },
  );
}

/** 422 Invalid: `<Kind> "<name>" is invalid: <errors>`, one cause per field error. */
export function invalid(kind: string, name: string, causes: Cause[]): ApiError {
  const texts = causes.map((c) => (c.field ? `${c.field}: ${c.message}` : c.message));
  const summary = texts.length === 1 ? texts[0] : `[${texts.join(', ')}]`;
  return new ApiError(422, 'Invalid', `${kind} "${name}" is invalid: ${summary}`, { name, kind, causes });
}

/** 400 BadRequest with a plain message. */
export function badRequest(message: string): ApiError {
  return new ApiError(400, 'BadRequest', message);
}

/** 403 Forbidden: `<plural> "<name>" is forbidden: <why>`. */
export function forbidden(plural: string, name: string, why: string, causes?: Cause[]): ApiError {
  const details: Obj = { name, kind: plural };
  if (causes) details.causes = causes;
  return new ApiError(403, 'Forbidden', `${plural} "${name}" is forbidden: ${why}`, details);
}

/** 405 MethodNotAllowed. */
export function methodNotAllowed(): ApiError {
  return new ApiError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource');
}

/** 415 for a PATCH content type the server does not know. */
export function unsupportedPatch(): ApiError {
  return new ApiError(
    415,
    'UnsupportedMediaType',
    'the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json',
  );
}

/** 404 for a path under /api that names no known resource. */
export function noSuchResource(): ApiError {
  return new ApiError(404, 'NotFound', 'the server could not find the requested resource', {});
}

/** The Status for a successful delete of a non-pod object. */
export function deleted(plural: string, name: string, uid: string | undefined): Obj {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details: { name, kind: plural, uid } };
}
