import { createCipheriv, createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  CODEC_RAW,
  CODEC_ZSTD,
  ChunkCorruptError,
  type ChunkCorruptReason,
  chunkCodec,
  compressChunk,
  decompressChunk,
  zstdVersion,
} from '../../../src-main/banks/dedup/compress';

function prng(length: number, seed: number): Buffer {
  const key = createHash('sha256').update(`karbor-compress-test-${seed}`).digest().subarray(0, 16);
  return createCipheriv('aes-128-ctr', key, Buffer.alloc(16)).update(Buffer.alloc(length));
}

const text = Buffer.from(
  Array.from({ length: 40_000 }, (_, i) => `2024-05-0${i % 9} INFO volume-${i % 97} backup checkpoint ${i}\n`).join(''),
);

function corruptReason(fn: () => unknown): ChunkCorruptReason {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ChunkCorruptError);
    const e = err as ChunkCorruptError;
    expect(e.code).toBe('CHUNK_CORRUPT');
    expect(e.name).toBe('ChunkCorruptError');
    expect(e.message).toMatch(/^corrupt chunk/);
    return e.reason;
  }
  throw new Error('expected a ChunkCorruptError');
}

describe('chunk compression (zstd)', () => {
  it('uses a loaded libzstd', () => {
    expect(zstdVersion()).toMatch(/^1\.\d+\.\d+$/);
  });

  it('round-trips compressible data with the zstd codec and makes it smaller', () => {
    const frame = compressChunk(text);
    expect(frame[0]).toBe(CODEC_ZSTD);
    expect(chunkCodec(frame)).toBe('zstd');
    expect(frame.length).toBeLessThan(text.length / 5);
    expect(decompressChunk(frame).equals(text)).toBe(true);
    expect(decompressChunk(frame, { expectedLength: text.length }).equals(text)).toBe(true);
  });

  it('round-trips at other levels, including the fast negative ones', () => {
    const sample = text.subarray(0, 300_000);
    for (const level of [-5, 1, 3, 9, 19]) {
      const frame = compressChunk(sample, { level });
      expect(frame[0]).toBe(CODEC_ZSTD);
      expect(decompressChunk(frame).equals(sample)).toBe(true);
    }
    expect(() => compressChunk(text, { level: 1000 })).toThrow(RangeError);
    expect(() => compressChunk(text, { level: 2.5 })).toThrow(RangeError);
  });

  it('stores incompressible data raw, with a one-byte header', () => {
    for (const data of [prng(1024 * 1024, 1), prng(70_001, 5), prng(16, 6), Buffer.from([42])]) {
      const frame = compressChunk(data);
      expect(frame[0]).toBe(CODEC_RAW);
      expect(chunkCodec(frame)).toBe('raw');
      expect(frame.length).toBe(data.length + 1);
      expect(frame.subarray(1).equals(data)).toBe(true);
      const back = decompressChunk(frame);
      expect(back.equals(data)).toBe(true);
      frame[1]! ^= 0xff; // the result is a copy, not a view of the frame
      expect(back.equals(data)).toBe(true);
    }
  });

  it('uses zstd whenever it saves bytes (this baseline grayscale JPEG shrinks by about 12%)', () => {
    const jpeg = readFileSync(join(__dirname, 'fixtures', 'SekienAkashita.jpg'));
    const frame = compressChunk(jpeg);
    expect(frame[0]).toBe(CODEC_ZSTD);
    expect(frame.length).toBeLessThan(jpeg.length);
    expect(decompressChunk(frame).equals(jpeg)).toBe(true);
  });

  it('judges a large chunk by a sample from its middle: random there means stored raw without a full zstd pass', () => {
    const compressible = Buffer.concat([text, text, text]);
    expect(compressible.length).toBeGreaterThan(256 * 1024);
    const frame = compressChunk(compressible);
    expect(frame[0]).toBe(CODEC_ZSTD);
    expect(decompressChunk(frame).equals(compressible)).toBe(true);
    // Compressible at both ends, random in the middle where the sample is taken: kept raw, still exact.
    const mixed = Buffer.concat([text.subarray(0, 300_000), prng(200_000, 9), text.subarray(0, 300_000)]);
    const raw = compressChunk(mixed);
    expect(raw[0]).toBe(CODEC_RAW);
    expect(decompressChunk(raw).equals(mixed)).toBe(true);
    // Below the probe size the whole chunk is tried, and its compressible part wins.
    const small = Buffer.concat([text.subarray(0, 60_000), prng(60_000, 10), text.subarray(0, 60_000)]);
    expect(compressChunk(small)[0]).toBe(CODEC_ZSTD);
  });

  it('handles the empty chunk', () => {
    const frame = compressChunk(new Uint8Array(0));
    expect([...frame]).toEqual([CODEC_RAW]);
    expect(decompressChunk(frame).length).toBe(0);
  });

  it('round-trips many mixed chunks through one shared context', () => {
    const inputs = [text.subarray(0, 1000), prng(70_000, 2), text, Buffer.alloc(4 * 1024 * 1024), prng(10, 3), text.subarray(5)];
    const frames = inputs.map((d) => compressChunk(d));
    frames.forEach((f, i) => expect(decompressChunk(f).equals(inputs[i]!)).toBe(true));
    expect(frames[3]!.length).toBeLessThan(1000);
  });
});

describe('chunk compression: corrupt input gives ChunkCorruptError', () => {
  const good = compressChunk(text);

  it('empty frame and unknown codec byte', () => {
    expect(corruptReason(() => decompressChunk(Buffer.alloc(0)))).toBe('empty');
    expect(corruptReason(() => chunkCodec(Buffer.alloc(0)))).toBe('empty');
    const bad = Buffer.from(good);
    bad[0] = 0x7f;
    expect(corruptReason(() => decompressChunk(bad))).toBe('unknown-codec');
  });

  it('garbage, truncated or extended zstd payloads', () => {
    expect(corruptReason(() => decompressChunk(Buffer.concat([Buffer.from([CODEC_ZSTD]), Buffer.from('not a zstd frame at all')])))).toBe(
      'bad-zstd-frame',
    );
    expect(corruptReason(() => decompressChunk(Buffer.from([CODEC_ZSTD])))).toBe('bad-zstd-frame');
    expect(corruptReason(() => decompressChunk(good.subarray(0, good.length - 10)))).toBe('bad-zstd-frame');
    expect(corruptReason(() => decompressChunk(good.subarray(0, 8)))).toBe('bad-zstd-frame');
    expect(corruptReason(() => decompressChunk(Buffer.concat([good, Buffer.from('xyz')])))).toBe('trailing-data');
  });

  it('a flipped bit anywhere in the payload is detected (content checksum), never returned as data', () => {
    let detected = 0;
    for (let pos = 1; pos < good.length; pos += Math.max(1, Math.floor(good.length / 200))) {
      const bad = Buffer.from(good);
      bad[pos]! ^= 1 << (pos % 8);
      let out: Buffer | undefined;
      try {
        out = decompressChunk(bad);
      } catch (err) {
        expect(err).toBeInstanceOf(ChunkCorruptError);
        detected++;
        continue;
      }
      // Only a flip that zstd can prove harmless could decode; it must then still give the original bytes.
      expect(out.equals(text)).toBe(true);
    }
    expect(detected).toBeGreaterThan(150);
    // The shared context recovers after errors.
    expect(decompressChunk(good).equals(text)).toBe(true);
  });

  it('length checks: expectedLength and maxLength', () => {
    expect(corruptReason(() => decompressChunk(good, { expectedLength: text.length - 1 }))).toBe('length-mismatch');
    expect(corruptReason(() => decompressChunk(good, { maxLength: 1000 }))).toBe('too-large');
    const raw = compressChunk(prng(5000, 4));
    expect(corruptReason(() => decompressChunk(raw, { expectedLength: 4999 }))).toBe('length-mismatch');
    expect(corruptReason(() => decompressChunk(raw, { maxLength: 4096 }))).toBe('too-large');
  });
});
