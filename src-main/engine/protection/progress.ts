import type { EngineEvents } from '../events';
import type { ProgressDelta } from '../providers/types';

export interface CheckpointProgress {
  checkpointId: string;
  bytesDone: number;
  bytesTotal: number | null;
  itemsDone: number;
  itemsTotal: number | null;
  currentResource: string | null;
  /** Bytes per second since the start. */
  rate: number;
  /** Seconds left, when totals are known. */
  etaSeconds: number | null;
}

/** Sums what the plugins report and emits `checkpoint.progress` at most every `intervalMs`. */
export class ProgressTracker {
  private bytes = 0;
  private items = 0;
  private readonly totals = new Map<string, { bytes?: number; items?: number }>();
  private current: string | null = null;
  private lastEmit = 0;
  private readonly started = Date.now();

  constructor(
    private readonly events: EngineEvents,
    private readonly checkpointId: string,
    private readonly intervalMs = 250,
  ) {}

  report(resourceKey: string, d: ProgressDelta): void {
    this.current = resourceKey;
    this.bytes += d.bytes ?? 0;
    this.items += d.items ?? 0;
    if (d.totalBytes !== undefined || d.totalItems !== undefined) {
      const t = this.totals.get(resourceKey) ?? {};
      this.totals.set(resourceKey, { bytes: d.totalBytes ?? t.bytes, items: d.totalItems ?? t.items });
    }
    if (Date.now() - this.lastEmit >= this.intervalMs) this.emit();
  }

  snapshot(): CheckpointProgress {
    const sum = (k: 'bytes' | 'items'): number | null => {
      if (!this.totals.size) return null;
      let n = 0;
      for (const t of this.totals.values()) n += t[k] ?? 0;
      return n;
    };
    const seconds = Math.max(0.001, (Date.now() - this.started) / 1000);
    const rate = this.bytes / seconds;
    const bytesTotal = sum('bytes');
    return {
      checkpointId: this.checkpointId,
      bytesDone: this.bytes,
      bytesTotal,
      itemsDone: this.items,
      itemsTotal: sum('items'),
      currentResource: this.current,
      rate,
      etaSeconds: bytesTotal !== null && rate > 0 ? Math.max(0, (bytesTotal - this.bytes) / rate) : null,
    };
  }

  emit(): void {
    this.lastEmit = Date.now();
    this.events.emit('checkpoint.progress', this.snapshot());
  }
}
