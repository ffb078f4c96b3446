import { createHash } from 'node:crypto';

const GiB = 1024 ** 3;

/**
 * Default segment size of large objects. Swift refuses a single object over its `max_file_size`
 * (5 GiB by default), so anything bigger is stored as a Static Large Object: segments of at most
 * this size plus a manifest naming them. 1 GiB keeps each segment's upload short enough to redo
 * and needs 1,000 segments (Swift's default `max_manifest_segments`) only at 1 TB.
 */
export const DEFAULT_SEGMENT_BYTES = GiB;

/** The largest segment a default Swift accepts (its `max_file_size`). */
export const MAX_SEGMENT_BYTES = 5 * GiB;

/**
 * How much of a stream is read ahead to decide between one PUT and a large object: a stream that
 * ends within it is sent as one buffer (with its MD5 checked by Swift), a longer one in segments.
 */
export const STREAM_LOOKAHEAD_BYTES = 16 * 1024 ** 2;

/** One entry of an SLO manifest (`?multipart-manifest=put`). */
export interface ManifestEntry {
  path: string;
  etag: string;
  size_bytes: number;
}

/**
 * Where the segments of one upload of a key go: `<prefix>.segments/<key>/.<upload>/<n>`. The
 * dot-names are bank bookkeeping (never listed as keys), and since no key segment starts with a
 * dot, `<prefix>.segments/<key>/.` holds exactly this key's uploads, not those of `<key>/…` keys.
 */
export function segmentFolder(bankPrefix: string, key: string): string {
  return `${bankPrefix}.segments/${key}/`;
}

export const segmentName = (uploadFolder: string, index: number): string => `${uploadFolder}${String(index).padStart(8, '0')}`;

/** Reads a byte stream in pieces of chosen sizes, with look-ahead. */
export class ByteReader {
  private readonly it: AsyncIterator<Buffer>;
  private readonly held: Buffer[] = [];
  private done = false;

  constructor(source: AsyncIterable<Buffer>) {
    this.it = source[Symbol.asyncIterator]();
  }

  private async pull(): Promise<Buffer | undefined> {
    for (;;) {
      let b = this.held.shift();
      if (b === undefined && !this.done) {
        const r = await this.it.next();
        if (r.done) this.done = true;
        else b = r.value;
      }
      if (b === undefined) return undefined;
      if (b.length) return b;
    }
  }

  /** Puts bytes back in front of what is still to read. */
  unshift(b: Buffer): void {
    if (b.length) this.held.unshift(b);
  }

  /** True when no byte is left. */
  async ended(): Promise<boolean> {
    const b = await this.pull();
    if (!b) return true;
    this.held.unshift(b);
    return false;
  }

  /** The next `n` bytes (fewer at the end), as they arrive. */
  async *take(n: number): AsyncGenerator<Buffer> {
    let left = n;
    while (left > 0) {
      const b = await this.pull();
      if (!b) return;
      if (b.length > left) {
        this.held.unshift(b.subarray(left));
        yield b.subarray(0, left);
        return;
      }
      left -= b.length;
      yield b;
    }
  }

  /** The next `n` bytes (fewer at the end) in one buffer. */
  async read(n: number): Promise<Buffer> {
    const parts: Buffer[] = [];
    for await (const b of this.take(n)) parts.push(b);
    return Buffer.concat(parts);
  }
}

/** A segment's body: a slice of a buffer, or a part of a stream with its MD5 and size counted as it is sent. */
export type SegmentBody = { buffer: Buffer } | { stream: AsyncIterable<Buffer>; tally: { md5: string; size: number } };

/** The segments of a source, one at a time; each must be sent before the next is asked for. */
export function segmentsOf(source: Buffer | ByteReader, segmentBytes: number): () => Promise<SegmentBody | undefined> {
  let offset = 0;
  return async () => {
    if (Buffer.isBuffer(source)) {
      if (offset >= source.length) return undefined;
      const buffer = source.subarray(offset, offset + segmentBytes);
      offset += buffer.length;
      return { buffer };
    }
    if (await source.ended()) return undefined;
    const tally = { md5: '', size: 0 };
    const hash = createHash('md5');
    const part = source.take(segmentBytes);
    const stream = (async function* () {
      for await (const b of part) {
        hash.update(b);
        tally.size += b.length;
        yield b;
      }
      tally.md5 = hash.digest('hex');
    })();
    return { stream, tally };
  };
}

/** The outcome of `DELETE …?multipart-manifest=delete` (a bulk-delete report, always HTTP 200). */
export function bulkDeleteErrors(text: string): string[] {
  const r = JSON.parse(text) as { 'Response Status'?: string; Errors?: [string, string][] };
  const errors = (r.Errors ?? []).map(([name, why]) => `${name}: ${why}`);
  const status = r['Response Status'] ?? '';
  if (!errors.length && !/^2\d\d/.test(status)) errors.push(status || 'no status');
  return errors;
}
