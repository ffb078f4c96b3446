/**
 * Typed engine errors. Services throw these; each adapter (REST, IPC) translates them once.
 * `code` is a stable UPPER_SNAKE identifier for UIs and scripts; `status` is the HTTP status the
 * REST adapter uses.
 */
export abstract class EngineError extends Error {
  abstract readonly status: number;
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export class NotFound extends EngineError {
  readonly status = 404;
  constructor(message: string, code = 'NOT_FOUND') {
    super(message, code);
  }
}

export class Invalid extends EngineError {
  readonly status = 400;
  constructor(message: string, code = 'INVALID') {
    super(message, code);
  }
}

export class Conflict extends EngineError {
  readonly status = 409;
  constructor(message: string, code = 'CONFLICT') {
    super(message, code);
  }
}

export class Forbidden extends EngineError {
  readonly status = 403;
  constructor(message: string, code = 'FORBIDDEN') {
    super(message, code);
  }
}

export class Unauthorized extends EngineError {
  readonly status = 401;
  constructor(message: string, code = 'UNAUTHORIZED') {
    super(message, code);
  }
}

export class OverQuota extends EngineError {
  readonly status = 413;
  constructor(message: string, code = 'OVER_QUOTA') {
    super(message, code);
  }
}

/** A service the engine depends on cannot answer now (Keystone validating a token). */
export class Unavailable extends EngineError {
  readonly status = 503;
  constructor(message: string, code = 'UNAVAILABLE') {
    super(message, code);
  }
}

/** A dependency still uses the object (Karbor answered 424 for a trigger in use). */
export class InUse extends EngineError {
  readonly status = 424;
  constructor(message: string, code = 'IN_USE') {
    super(message, code);
  }
}

/** A service the engine depends on (a cloud's Keystone, Nova, …) failed or did not answer. */
export class UpstreamError extends EngineError {
  readonly status = 502;
  constructor(message: string, code = 'UPSTREAM_FAILED') {
    super(message, code);
  }
}

export function isEngineError(err: unknown): err is EngineError {
  return err instanceof EngineError;
}
