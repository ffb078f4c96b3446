import type { Logger } from './log';

/**
 * Background work of the engine (protect, delete, restore, verify). Failures must already be
 * recorded by the job itself (status + operation log); anything that still escapes is logged
 * here so it never becomes an unhandled rejection.
 */
export class JobQueue {
  private readonly running = new Set<Promise<void>>();
  private closed = false;

  constructor(private readonly log: Logger) {}

  /** Starts `fn` on the next tick (after the caller's response is built). */
  enqueue(name: string, fn: () => Promise<void>): void {
    if (this.closed) return;
    const p = new Promise<void>((resolve) => setImmediate(resolve))
      .then(fn)
      .catch((err: unknown) => this.log.error(`job ${name} failed unexpectedly`, { error: String(err) }))
      .finally(() => this.running.delete(p));
    this.running.add(p);
  }

  get size(): number {
    return this.running.size;
  }

  /** Resolves when no job runs (jobs started by jobs included). */
  async idle(): Promise<void> {
    while (this.running.size) await Promise.all([...this.running]);
  }

  /** Stops accepting work and waits for what runs. */
  async close(): Promise<void> {
    this.closed = true;
    await this.idle();
  }
}
