import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { DedupCodec, Manifest, ObjectBank, PutResult } from './types';

const chunkKey = (id: string): string => `chunks/${id.slice(0, 2)}/${id}`;

/** A chunk or manifest that does not match what was stored. */
export class CorruptData extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CorruptData';
  }
}

/**
 * Deduplicated streams over a bank: a stream becomes content-defined chunks stored once each
 * under their id (compressed), plus a manifest listing them. A chunk is written before any
 * manifest refers to it, so a crash leaves at worst unreferenced chunks, never a manifest
 * pointing at nothing.
 */
export class ChunkStore {
  /** Chunk ids known to exist, so repeated chunks skip the bank round trip. */
  private readonly known = new Set<string>();

  constructor(
    readonly bank: ObjectBank,
    private readonly codec: DedupCodec,
  ) {}

  async put(input: Readable, onBytes?: (n: number) => void, signal?: AbortSignal): Promise<PutResult> {
    const whole = createHash('sha256');
    const manifest: Manifest = { version: 1, size: 0, sha256: '', chunks: [] };
    let newBytes = 0;
    let newChunks = 0;
    for await (const chunk of this.codec.chunks(input)) {
      signal?.throwIfAborted();
      whole.update(chunk);
      const id = this.codec.id(chunk);
      manifest.chunks.push({ id, length: chunk.length });
      manifest.size += chunk.length;
      if (!(await this.has(id))) {
        const stored = this.codec.compress(chunk);
        await this.bank.put(chunkKey(id), stored);
        newBytes += stored.length;
        newChunks++;
      }
      this.known.add(id);
      onBytes?.(chunk.length);
    }
    manifest.sha256 = whole.digest('hex');
    return { manifest, bytes: manifest.size, newBytes, newChunks };
  }

  /** Streams a manifest's data back, checking every chunk against its id. */
  get(manifest: Manifest): Readable {
    const read = (id: string, length: number): Promise<Buffer> => this.readChunk(id, length);
    return Readable.from(
      (async function* () {
        for (const c of manifest.chunks) yield await read(c.id, c.length);
      })(),
    );
  }

  /** Re-reads and re-hashes every chunk and the whole stream; throws CorruptData naming the first bad chunk. */
  async verify(manifest: Manifest): Promise<void> {
    const whole = createHash('sha256');
    for (const c of manifest.chunks) whole.update(await this.readChunk(c.id, c.length));
    if (whole.digest('hex') !== manifest.sha256) throw new CorruptData('the restored stream does not match its SHA-256');
  }

  /** Deletes every chunk not in `used`; returns how many were freed. */
  async sweep(used: ReadonlySet<string>): Promise<{ chunks: number; bytes: number }> {
    let chunks = 0;
    let bytes = 0;
    for await (const key of this.bank.list('chunks/')) {
      const id = key.slice(key.lastIndexOf('/') + 1);
      if (used.has(id)) continue;
      bytes += (await this.bank.stat(key))?.size ?? 0;
      await this.bank.delete(key);
      this.known.delete(id);
      chunks++;
    }
    return { chunks, bytes };
  }

  /** A chunk's data by id, checked against the id (for copying into another bank). */
  async chunk(id: string): Promise<Buffer> {
    let data: Buffer;
    try {
      data = this.codec.decompress(await this.bank.get(chunkKey(id)));
    } catch (err) {
      throw new CorruptData(`chunk ${id} cannot be read: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (this.codec.id(data) !== id) throw new CorruptData(`chunk ${id} does not match its hash`);
    return data;
  }

  /**
   * Stores a chunk read from another bank under the same id; returns the bytes written (0 when it
   * was there). Refused when this bank would give the data another id (say, one of the two banks is
   * encrypted and keys its chunk ids): copies between such banks would not verify.
   */
  async putChunk(id: string, data: Buffer): Promise<number> {
    if (this.codec.id(data) !== id) {
      throw new Error(
        'the two banks name chunks differently (an encrypted bank keys its chunk ids), so data cannot be copied between them',
      );
    }
    if (await this.has(id)) return 0;
    const stored = this.codec.compress(data);
    await this.bank.put(chunkKey(id), stored);
    this.known.add(id);
    return stored.length;
  }

  private async has(id: string): Promise<boolean> {
    if (this.known.has(id)) return true;
    return (await this.bank.stat(chunkKey(id))) !== undefined;
  }

  private async readChunk(id: string, length: number): Promise<Buffer> {
    let data: Buffer;
    try {
      data = this.codec.decompress(await this.bank.get(chunkKey(id)));
    } catch (err) {
      throw new CorruptData(`chunk ${id} cannot be read: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (data.length !== length || this.codec.id(data) !== id) throw new CorruptData(`chunk ${id} does not match its hash`);
    return data;
  }
}
