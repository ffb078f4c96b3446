import { EngineError } from '../engine/errors';

/**
 * Typed bank errors. They extend the engine's `EngineError`, so the REST and IPC adapters map
 * them like any other engine error (status + stable UPPER_SNAKE code) without knowing about banks.
 */
export class BankError extends EngineError {
  readonly status: number;
  constructor(message: string, opts: { code?: string; status?: number; cause?: unknown } = {}) {
    super(message, opts.code ?? 'BANK_ERROR');
    this.status = opts.status ?? 500;
    if (opts.cause !== undefined) this.cause = opts.cause;
  }
}

/** The object does not exist (never written, deleted, or a prefix rather than an object). */
export class BankNotFound extends BankError {
  constructor(readonly key: string) {
    super(`bank object '${key}' does not exist`, { code: 'BANK_OBJECT_NOT_FOUND', status: 404 });
  }
}

/** A key, prefix or lease name outside the bank's key grammar (see `validateKey`). */
export class BankInvalidKey extends BankError {
  constructor(
    readonly key: string,
    reason: string,
  ) {
    super(`invalid bank key ${JSON.stringify(key.length > 80 ? `${key.slice(0, 80)}…` : key)}: ${reason}`, {
      code: 'BANK_INVALID_KEY',
      status: 400,
    });
  }
}

/** Another owner holds a live lease: another engine is writing this bank. */
export class BankLocked extends BankError {
  constructor(
    readonly lease: string,
    readonly holder: string,
    readonly expiresAt: Date,
  ) {
    super(
      `the bank is in use: lease '${lease}' is held by '${holder}' until ${expiresAt.toISOString()}; ` +
        'another engine is writing this bank (stop it, or wait until its lease expires)',
      { code: 'BANK_LOCKED', status: 409 },
    );
  }
}

/**
 * The lease this handle held is gone: another owner took it over after it expired, or it was
 * released. The caller must stop writing the bank at once.
 */
export class BankLeaseLost extends BankError {
  constructor(
    readonly lease: string,
    readonly owner: string,
    readonly takenBy?: string,
  ) {
    super(
      takenBy === undefined
        ? `bank lease '${lease}' of '${owner}' is no longer held (released)`
        : `bank lease '${lease}' of '${owner}' was lost: '${takenBy}' took it over after it expired`,
      { code: 'BANK_LEASE_LOST', status: 409 },
    );
  }
}

/** The bank's storage is full or over quota. The failed put left nothing behind. */
export class BankFull extends BankError {
  constructor(
    readonly location: string,
    cause?: unknown,
  ) {
    const why = (cause as NodeJS.ErrnoException | undefined)?.code === 'EDQUOT' ? 'disk quota exceeded' : 'no space left on device';
    super(`the bank at ${location} is full (${why}): free some space or delete old checkpoints; the failed write left no partial object`, {
      code: 'BANK_FULL',
      status: 507,
      cause,
    });
  }
}

/** True for the errno codes that mean "storage full". */
export function isFullError(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT';
}
