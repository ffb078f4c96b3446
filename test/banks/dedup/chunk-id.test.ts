import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  CHUNK_ID_ALGORITHMS,
  chunkId,
  createChunkIdHasher,
  isChunkId,
  isChunkIdAlgorithm,
  isChunkIdAlgorithmAvailable,
  preferredChunkIdAlgorithm,
} from '../../../src-main/banks/dedup/chunk-id';

// Official BLAKE3 test vectors (BLAKE3-team/BLAKE3 test_vectors.json): input i is the byte i % 251,
// the hash is the first 32 bytes of the default-length output.
const BLAKE3_VECTORS: [number, string][] = [
  [0, 'af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262'],
  [1, '2d3adedff11b61f14c886e35afa036736dcd87a74d27b5c1510225d0f592e213'],
  [1023, '10108970eeda3eb932baac1428c7a2163b0e924c9a9e25b35bba72b28f70bd11'],
  [1024, '42214739f095a406f3fc83deb889744ac00df831c10daa55189b5d121c855af7'],
  [1025, 'd00278ae47eb27b34faecf67b4fe263f82d5412916c1ffd97c8cb7fb814b8444'],
  [4097, '9b4052b38f1c5fc8b1f9ff7ac7b27cd242487b3d890d15c96a1c25b8aa0fb995'],
];

function vectorInput(length: number): Buffer {
  const b = Buffer.alloc(length);
  for (let i = 0; i < length; i++) b[i] = i % 251;
  return b;
}

describe('chunk ids', () => {
  it('BLAKE3 loads here and is the preferred algorithm', () => {
    expect(isChunkIdAlgorithmAvailable('blake3')).toBe(true);
    expect(isChunkIdAlgorithmAvailable('sha256')).toBe(true);
    expect(preferredChunkIdAlgorithm()).toBe('blake3');
  });

  it.each(BLAKE3_VECTORS)('BLAKE3 official vector, %i bytes', (length, expected) => {
    const input = vectorInput(length);
    expect(chunkId(input, 'blake3')).toBe(expected);
    const h = createChunkIdHasher('blake3');
    for (let i = 0; i < length; i += 100) h.update(input.subarray(i, i + 100));
    expect(h.digest()).toBe(expected);
  });

  it('SHA-256 ids are the node:crypto hex digest', () => {
    expect(chunkId(Buffer.from('abc'), 'sha256')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    const data = vectorInput(300_000);
    const h = createChunkIdHasher('sha256').update(data.subarray(0, 12345)).update(data.subarray(12345));
    expect(h.digest()).toBe(createHash('sha256').update(data).digest('hex'));
  });

  it('ids are 64 lowercase hex characters and differ between algorithms', () => {
    const data = Buffer.from('the same bytes');
    for (const a of CHUNK_ID_ALGORITHMS) expect(isChunkId(chunkId(data, a))).toBe(true);
    expect(chunkId(data, 'blake3')).not.toBe(chunkId(data, 'sha256'));
    expect(isChunkId('A'.repeat(64))).toBe(false);
    expect(isChunkId('a'.repeat(63))).toBe(false);
    expect(isChunkIdAlgorithm('blake3')).toBe(true);
    expect(isChunkIdAlgorithm('md5')).toBe(false);
  });

  it('rejects unknown algorithms and reuse of a finished hasher', () => {
    expect(() => chunkId(Buffer.alloc(1), 'md5' as 'sha256')).toThrow(TypeError);
    expect(() => createChunkIdHasher('md5' as 'sha256')).toThrow(TypeError);
    for (const a of CHUNK_ID_ALGORITHMS) {
      const h = createChunkIdHasher(a);
      h.digest();
      expect(() => h.update(Buffer.alloc(1))).toThrow(/finalized/);
    }
  });
});
