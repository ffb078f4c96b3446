import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';

export const MiB = 1024 * 1024;

export const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** Reads a stream to the end. */
export async function drain(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of stream as AsyncIterable<Buffer>) parts.push(chunk);
  return Buffer.concat(parts);
}

/** SHA-256 of a stream, without holding it in memory. */
export async function streamSha256(stream: Readable): Promise<{ sha256: string; size: number }> {
  const h = createHash('sha256');
  let size = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    h.update(chunk);
    size += chunk.length;
  }
  return { sha256: h.digest('hex'), size };
}

export async function collect(it: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const k of it) out.push(k);
  return out;
}

/**
 * `size` random bytes as a stream of uneven pieces (1 byte to 256 KiB), produced lazily like a
 * real source; `sha256()` is ready once the stream has ended.
 */
export function randomSource(size: number): { stream: Readable; sha256: () => string } {
  const h = createHash('sha256');
  let left = size;
  const stream = Readable.from(
    (function* () {
      while (left > 0) {
        const n = Math.min(left, 1 + Math.floor(Math.random() * 256 * 1024));
        const piece = randomBytes(n);
        h.update(piece);
        left -= n;
        yield piece;
      }
    })(),
    { objectMode: false },
  );
  let digest: string | undefined;
  return { stream, sha256: () => (digest ??= h.digest('hex')) };
}

/**
 * A source that yields `before` random bytes and then fails, like a network read or a file that
 * vanished half-way through a backup. The error arrives after a pause, so the bank has really
 * written (and possibly flushed) the first part by then.
 */
export function failingSource(before: number, message = 'source failed half-way'): Readable {
  return Readable.from(
    (async function* () {
      for (let left = before; left > 0; left -= 64 * 1024) yield randomBytes(Math.min(left, 64 * 1024));
      await new Promise((r) => setTimeout(r, 20));
      throw new Error(message);
    })(),
    { objectMode: false },
  );
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Whatever `fn` throws or rejects with (fails the test if it succeeds). */
export async function caught(fn: () => unknown): Promise<unknown> {
  try {
    await fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected an error, but the call succeeded');
}
