/**
 * Typed errors. Every error a client can cause is one of these: it carries the HTTP status and a
 * stable `code`, and the error-handler middleware (the one place that turns errors into answers)
 * writes it as `{ "error": code, "message": ..., "details"?: ... }`. Anything else is our fault and
 * answers 500 without leaking its message.
 */
export class HookError extends Error {
  readonly statusCode: number;
  readonly code: string;
  readonly details: unknown;

  constructor(
    statusCode: number,
    code: string,
    message: string,
    options: { details?: unknown; cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = code;
    this.statusCode = statusCode;
    this.code = code;
    this.details = options.details;
  }
}

/** 403: `Authorization: WCS <hmac>` missing or not matching any configured secret (reference §0.2). */
export class SignatureMismatchError extends HookError {
  constructor(message: string) {
    super(403, 'SignatureMismatch', message);
  }
}

/** 413: the body is larger than the configured limit. */
export class PayloadTooLargeError extends HookError {
  constructor(sizeBytes: number, limitBytes: number) {
    super(413, 'PayloadTooLarge', `body is ${sizeBytes} bytes; the limit is ${limitBytes} bytes`, {
      details: { sizeBytes, limitBytes },
    });
  }
}

/** 415: WCS always sends `application/json`; anything else is not a hook. */
export class UnsupportedMediaTypeError extends HookError {
  constructor(contentType: string | undefined) {
    super(415, 'UnsupportedMediaType', `content-type must be application/json, got ${contentType ?? 'none'}`);
  }
}

/** 400: the body is not JSON. */
export class MalformedJsonError extends HookError {
  constructor(message: string, cause?: unknown) {
    super(400, 'MalformedJson', message, { cause });
  }
}

/** One field that failed validation, named by its path in the body (`payload.to`, `mediaProviders.0`). */
export interface FieldProblem {
  field: string;
  problem: string;
}

/** The problems in one line: `field: problem; field: problem`. */
export function summaryOf(problems: readonly FieldProblem[]): string {
  return problems.map((p) => `${p.field || '(body)'}: ${p.problem}`).join('; ');
}

/** 400: the JSON is well-formed but a field is missing or of the wrong type. */
export class ValidationError extends HookError {
  constructor(problems: FieldProblem[]) {
    super(400, 'ValidationError', `invalid hook body: ${summaryOf(problems)}`, { details: problems });
  }
}

/** 404: a path that names no hook (the catch-all still needs a syntactically valid method name). */
export class UnknownRouteError extends HookError {
  constructor(message: string) {
    super(404, 'NotFound', message);
  }
}

/**
 * 403: the backend refuses the client's action (a decision, not an input error). WCS turns it into
 * a refused connection, a FAILED stream or a FAILED data status when `restOnError` is FAIL for the
 * method (reference §1.3, §2.3); the reason is in the JSON body and the logs.
 */
export class DecisionRefusedError extends HookError {
  constructor(reason: string) {
    super(403, 'Forbidden', reason);
  }
}

/** 401: the operator API needs IAM auth (AWS) or the configured bearer token (locally). */
export class UnauthorizedError extends HookError {
  constructor(message: string) {
    super(401, 'Unauthorized', message);
  }
}
