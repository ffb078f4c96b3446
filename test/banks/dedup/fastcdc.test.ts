import { createCipheriv, createHash } from 'node:crypto';
import { createReadStream, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { chunkId } from '../../../src-main/banks/dedup/chunk-id';
import {
  type Chunk,
  type Cutpoint,
  type FastCdcOptions,
  DEFAULT_FASTCDC_OPTIONS,
  FastCdcChunker,
  FastCdcTransform,
  GEAR,
  MASKS,
  chunkStream,
  cutpoints,
  masksFor,
  resolveFastCdcOptions,
} from '../../../src-main/banks/dedup/fastcdc';

const FIXTURE = join(__dirname, 'fixtures', 'SekienAkashita.jpg');
const sekien = readFileSync(FIXTURE);

/** Deterministic pseudo-random bytes (AES-128-CTR keystream of a seed). */
function prng(length: number, seed: number): Buffer {
  const key = createHash('sha256').update(`karbor-fastcdc-test-${seed}`).digest().subarray(0, 16);
  return createCipheriv('aes-128-ctr', key, Buffer.alloc(16)).update(Buffer.alloc(length));
}

/** Splits `buf` into pieces of pseudo-random sizes in [1, maxPiece] (mulberry32 sizes). */
function randomSplit(buf: Buffer, maxPiece: number, seed: number): Buffer[] {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
  const pieces: Buffer[] = [];
  for (let pos = 0; pos < buf.length;) {
    const n = 1 + (next() % maxPiece);
    pieces.push(buf.subarray(pos, pos + n));
    pos += n;
  }
  return pieces;
}

function fixedSplit(buf: Buffer, size: number): Buffer[] {
  const pieces: Buffer[] = [];
  for (let pos = 0; pos < buf.length; pos += size) pieces.push(buf.subarray(pos, pos + size));
  return pieces;
}

async function collect(source: AsyncIterable<unknown> | Iterable<unknown>, opts?: FastCdcOptions): Promise<Chunk[]> {
  const out: Chunk[] = [];
  for await (const c of chunkStream(source, opts)) out.push(c);
  return out;
}

const strip = (cs: readonly Cutpoint[]): Cutpoint[] => cs.map(({ offset, length, hash }) => ({ offset, length, hash }));

function expectWellFormed(chunks: readonly Cutpoint[], total: number, opts: Required<FastCdcOptions>): void {
  // One assertion for the whole list (tiny chunk sizes give tens of thousands of chunks).
  const problems: string[] = [];
  let pos = 0;
  chunks.forEach((c, i) => {
    const last = i === chunks.length - 1;
    if (c.offset !== pos) problems.push(`#${i}: offset ${c.offset}, expected ${pos}`);
    if (c.length > opts.maxSize) problems.push(`#${i}: length ${c.length} > max`);
    if (c.length < (last ? 1 : opts.minSize)) problems.push(`#${i}: length ${c.length} too small`);
    pos += c.length;
  });
  if (pos !== total) problems.push(`covers ${pos} of ${total} bytes`);
  expect(problems).toEqual([]);
}

// ---------------------------------------------------------------------------------------------------------
// Published vectors: fastcdc-rs (nlfiedler/fastcdc-rs, src/v2016/mod.rs tests) on test/fixtures/SekienAkashita.jpg.

interface Expected {
  hash: bigint;
  offset: number;
  length: number;
  /** BLAKE3 of the chunk bytes, as published in the crate's iterator/stream tests. */
  blake3?: string;
}

const SEKIEN_16K: Expected[] = [
  {
    hash: 17968276318003433923n,
    offset: 0,
    length: 21325,
    blake3: '261930e84e14c240210ae8c459acc4bb85dd52f1b91c868f2106dbc1ceb3acca',
  },
  {
    hash: 4098594969649699419n,
    offset: 21325,
    length: 17140,
    blake3: 'a01747cf21202f0068b8897d2be92aa4479b7ac7207b3baa5057b8ec75fa1c10',
  },
  {
    hash: 15733367461443853673n,
    offset: 38465,
    length: 28084,
    blake3: '01e5305fb8f54d214ed2946843ea360fb9bb3f5df66ef3e34fb024d32ebcaee1',
  },
  {
    hash: 4509236223063678303n,
    offset: 66549,
    length: 18217,
    blake3: 'fc28c67b6ef846a841452a215bf704058f65cba5c1d78160398d3c2e046642f9',
  },
  {
    hash: 2504464741100432583n,
    offset: 84766,
    length: 24700,
    blake3: 'f6996300fce24d3da56c81ea52e5f4f461ce6adb4496f65252996e1082471aac',
  },
];

/** The crate's `cut()` tests list (hash, length) pairs; offsets follow by summing. */
function fromPairs(pairs: [bigint, number][]): Expected[] {
  let offset = 0;
  return pairs.map(([hash, length]) => {
    const e = { hash, offset, length };
    offset += length;
    return e;
  });
}

const VECTORS: { name: string; opts: FastCdcOptions; expected: Expected[] }[] = [
  {
    name: 'test_iter_sekien_16k_chunks (4096/16384/65535, NC 1)',
    opts: { minSize: 4096, avgSize: 16384, maxSize: 65535 },
    expected: SEKIEN_16K,
  },
  {
    name: 'test_cut_sekien_32k_chunks (8192/32768/131072, NC 1)',
    opts: { minSize: 8192, avgSize: 32768, maxSize: 131072 },
    expected: fromPairs([
      [15733367461443853673n, 66549],
      [2504464741100432583n, 42917],
    ]),
  },
  {
    name: 'test_cut_sekien_64k_chunks (16384/65536/262144, NC 1)',
    opts: { minSize: 16384, avgSize: 65536, maxSize: 262144 },
    expected: fromPairs([[2504464741100432583n, 109466]]),
  },
  {
    name: 'test_cut_sekien_16k_nc_0 (4096/16384/65535, NC 0)',
    opts: { minSize: 4096, avgSize: 16384, maxSize: 65535, normalization: 0 },
    expected: fromPairs([
      [221561130519947581n, 6634],
      [15733367461443853673n, 59915],
      [10460176299449652894n, 25597],
      [6197802202431009942n, 5237],
      [2504464741100432583n, 12083],
    ]),
  },
  {
    name: 'test_cut_sekien_16k_nc_3 (4096/16384/65535, NC 3)',
    opts: { minSize: 4096, avgSize: 16384, maxSize: 65535, normalization: 3 },
    expected: fromPairs([
      [14582375164208481996n, 17350],
      [13104072099671895560n, 19911],
      [6161241554519610597n, 17426],
      [16009206469796846404n, 17519],
      [10460176299449652894n, 19940],
      [2504464741100432583n, 17320],
    ]),
  },
];

describe('FastCDC v2016: published fastcdc-rs test vectors (SekienAkashita.jpg)', () => {
  it('has the fixture the vectors were published for', () => {
    expect(sekien.length).toBe(109466);
    expect(createHash('sha256').update(sekien).digest('hex')).toBe('d9e749d9367fc908876749d6502eb212fee88c9a94892fb07da5ef3ba8bc39ed');
  });

  for (const { name, opts, expected } of VECTORS) {
    it(`cutpoints(): ${name}`, () => {
      expect(cutpoints(sekien, opts)).toEqual(expected.map(({ hash, offset, length }) => ({ hash, offset, length })));
    });

    it(`chunkStream(), 1000-byte reads: ${name}`, async () => {
      const chunks = await collect(fixedSplit(sekien, 1000), opts);
      expect(strip(chunks)).toEqual(expected.map(({ hash, offset, length }) => ({ hash, offset, length })));
      for (const c of chunks) expect(c.data.equals(sekien.subarray(c.offset, c.offset + c.length))).toBe(true);
    });
  }

  it('chunk data matches the published BLAKE3 digests (cutpoints and stream)', async () => {
    const opts = VECTORS[0]!.opts;
    const fromCuts = cutpoints(sekien, opts).map((c) => chunkId(sekien.subarray(c.offset, c.offset + c.length), 'blake3'));
    const fromStream = (await collect(createReadStream(FIXTURE, { highWaterMark: 4096 }), opts)).map((c) => chunkId(c.data, 'blake3'));
    const published = SEKIEN_16K.map((e) => e.blake3);
    expect(fromCuts).toEqual(published);
    expect(fromStream).toEqual(published);
  });

  it('all-zero input: maxSize chunks with the published hash (test_cut_all_zeros)', () => {
    const cuts = cutpoints(new Uint8Array(10240), { minSize: 64, avgSize: 256, maxSize: 1024 });
    expect(cuts).toHaveLength(10);
    cuts.forEach((c, i) => expect(c).toEqual({ offset: i * 1024, length: 1024, hash: 14169102344523991076n }));
  });

  it('gear table is MD5(64 × byte i)[0..8] big-endian, as in the reference implementation', () => {
    expect(GEAR).toHaveLength(256);
    expect(GEAR[0]).toBe(0x3b5d3c7d207e37dcn);
    expect(GEAR[255]).toBe(0xaabd2b2a451504e1n);
    for (let i = 0; i < 256; i++) {
      const md5 = createHash('md5').update(Buffer.alloc(64, i)).digest();
      expect(GEAR[i]).toBe(md5.readBigUInt64BE(0));
    }
  });

  it('picks masks like the crate (test_masks, test_logarithm2)', () => {
    expect(masksFor(256, 1)).toEqual({ maskL: MASKS[7], maskS: MASKS[9] });
    expect(masksFor(16384, 1)).toEqual({ maskL: MASKS[13], maskS: MASKS[15] });
    expect(masksFor(4_194_304, 1)).toEqual({ maskL: MASKS[21], maskS: MASKS[23] });
    // Rounded, not floored, log2.
    expect(masksFor(1500, 0).maskS).toBe(MASKS[11]);
    expect(masksFor(12288, 0).maskS).toBe(MASKS[14]);
    expect(masksFor(24576, 0).maskS).toBe(MASKS[15]);
    expect(masksFor(1100, 0).maskS).toBe(MASKS[10]);
  });
});

// ---------------------------------------------------------------------------------------------------------

describe('FastCDC: options', () => {
  it('defaults to min 256 KiB / avg 1 MiB / max 4 MiB, normalization 1', () => {
    expect(resolveFastCdcOptions()).toEqual({ minSize: 262144, avgSize: 1048576, maxSize: 4194304, normalization: 1 });
    expect(DEFAULT_FASTCDC_OPTIONS).toEqual(resolveFastCdcOptions({}));
  });

  it.each<[string, FastCdcOptions]>([
    ['min too small', { minSize: 63, avgSize: 256, maxSize: 1024 }],
    ['avg too small', { minSize: 64, avgSize: 255, maxSize: 1024 }],
    ['max too small', { minSize: 64, avgSize: 256, maxSize: 1023 }],
    ['max too large', { maxSize: 16_777_217 }],
    ['min > avg', { minSize: 8192, avgSize: 4096, maxSize: 65536 }],
    ['avg > max', { minSize: 4096, avgSize: 131072, maxSize: 65536 }],
    ['not an integer', { minSize: 4096.5, avgSize: 16384, maxSize: 65536 }],
    ['bad normalization', { normalization: 4 as 3 }],
  ])('rejects %s', (_name, opts) => {
    expect(() => cutpoints(Buffer.alloc(10), opts)).toThrow(RangeError);
    expect(() => new FastCdcChunker(opts)).toThrow(RangeError);
  });

  it('handles empty and short inputs like the crate', async () => {
    const opts = { minSize: 4096, avgSize: 16384, maxSize: 65535 };
    expect(cutpoints(Buffer.alloc(0), opts)).toEqual([]);
    expect(await collect([], opts)).toEqual([]);
    expect(cutpoints(sekien.subarray(0, 100), opts)).toEqual([{ offset: 0, length: 100, hash: 0n }]);
    expect(cutpoints(sekien.subarray(0, 4096), opts)).toEqual([{ offset: 0, length: 4096, hash: 0n }]);
    const short = await collect([sekien.subarray(0, 50), sekien.subarray(50, 100)], opts);
    expect(strip(short)).toEqual([{ offset: 0, length: 100, hash: 0n }]);
    expect(short[0]!.data.equals(sekien.subarray(0, 100))).toBe(true);
  });
});

describe('FastCDC: streaming boundaries do not depend on read sizes', () => {
  const small = { minSize: 4096, avgSize: 16384, maxSize: 65535 };

  it('one-byte pushes, odd fixed sizes and random splits of the fixture', async () => {
    const expected = cutpoints(sekien, small);
    const chunker = new FastCdcChunker(small);
    const byteByByte: Chunk[] = [];
    for (let i = 0; i < sekien.length; i++) byteByByte.push(...chunker.push(sekien.subarray(i, i + 1)));
    byteByByte.push(...chunker.finish());
    expect(strip(byteByByte)).toEqual(expected);
    for (const size of [7, 4095, 4096, 65535, 65536, 65537, 131070, 200000]) {
      expect(strip(await collect(fixedSplit(sekien, size), small))).toEqual(expected);
    }
    for (let seed = 0; seed < 5; seed++) {
      expect(strip(await collect(randomSplit(sekien, 20000, seed), small))).toEqual(expected);
    }
  });

  it('random data, default sizes: Readable, Transform and the sync chunker agree with cutpoints()', async () => {
    const data = prng(24 * 1024 * 1024, 1);
    const expected = cutpoints(data);
    expect(expected.length).toBeGreaterThan(10);
    expectWellFormed(expected, data.length, DEFAULT_FASTCDC_OPTIONS);

    const viaReadable = await collect(Readable.from(randomSplit(data, 3 * 1024 * 1024, 2)));
    expect(strip(viaReadable)).toEqual(expected);
    for (const c of viaReadable) expect(c.data.equals(data.subarray(c.offset, c.offset + c.length))).toBe(true);

    const viaTransform: Chunk[] = [];
    await pipeline(Readable.from(randomSplit(data, 100_000, 3)), new FastCdcTransform(), async (chunks: AsyncIterable<Chunk>) => {
      for await (const c of chunks) viaTransform.push(c);
    });
    expect(strip(viaTransform)).toEqual(expected);

    const whole = new FastCdcChunker();
    expect(strip([...whole.push(data), ...whole.finish()])).toEqual(expected);
    // Reads of exactly maxSize and of maxSize ± 1.
    for (const size of [4194303, 4194304, 4194305]) expect(strip(await collect(fixedSplit(data, size)))).toEqual(expected);
  });

  it('rejects string streams and pushes after finish', async () => {
    await expect(collect(['not bytes'])).rejects.toThrow(TypeError);
    const chunker = new FastCdcChunker();
    chunker.finish();
    expect(() => chunker.push(Buffer.alloc(1))).toThrow(/after finish/);
  });
});

describe('FastCDC: size bounds', () => {
  const small = resolveFastCdcOptions({ minSize: 4096, avgSize: 16384, maxSize: 65535 });

  it('keeps min <= length <= max (last chunk: 1..max) on random, zero and low-entropy data', () => {
    const random = prng(16 * 1024 * 1024, 4);
    const zeros = Buffer.alloc(3 * 1024 * 1024 + 12345);
    const pattern = Buffer.alloc(2 * 1024 * 1024 + 777);
    for (let i = 0; i < pattern.length; i++) pattern[i] = (i * 7) % 13;
    for (const [buf, opts] of [
      [random, small],
      [zeros, small],
      [pattern, small],
      [random, DEFAULT_FASTCDC_OPTIONS],
      [zeros, DEFAULT_FASTCDC_OPTIONS],
      [random, resolveFastCdcOptions({ minSize: 64, avgSize: 256, maxSize: 1024, normalization: 2 })],
    ] as const) {
      expectWellFormed(cutpoints(buf, opts), buf.length, opts);
    }
    // Pathological input: every chunk but the last is exactly maxSize.
    const zc = cutpoints(zeros, small);
    expect(zc.slice(0, -1).every((c) => c.length === small.maxSize)).toBe(true);
  });

  it('average chunk size of random data is near avgSize', () => {
    const random = prng(16 * 1024 * 1024, 5);
    const cuts = cutpoints(random, small);
    const mean = random.length / cuts.length;
    expect(mean).toBeGreaterThan(small.avgSize * 0.75);
    expect(mean).toBeLessThan(small.avgSize * 1.5);
  });
});

describe('FastCDC: deduplication after an insertion', () => {
  it('inserting 1 MiB into the middle of 64 MiB changes only a few chunks', () => {
    const original = prng(64 * 1024 * 1024, 6);
    const insert = prng(1024 * 1024, 7);
    const mid = 32 * 1024 * 1024 + 12345;
    const edited = Buffer.concat([original.subarray(0, mid), insert, original.subarray(mid)]);

    const digests = (buf: Buffer): string[] =>
      cutpoints(buf).map((c) =>
        createHash('sha256')
          .update(buf.subarray(c.offset, c.offset + c.length))
          .digest('hex'),
      );
    const before = new Set(digests(original));
    const after = cutpoints(edited);
    const afterDigests = digests(edited);
    const reused = afterDigests.filter((d) => before.has(d)).length;
    const reusedBytes = after.filter((_, i) => before.has(afterDigests[i]!)).reduce((n, c) => n + c.length, 0);

    expect(after.length).toBeGreaterThan(40);
    // The chunk holding the insertion point, the inserted bytes and at most a chunk or two of resynchronisation.
    expect(after.length - reused).toBeLessThanOrEqual(5);
    expect(reused / after.length).toBeGreaterThan(0.9);
    expect(reusedBytes).toBeGreaterThan(original.length - 5 * DEFAULT_FASTCDC_OPTIONS.maxSize);
  });
});

describe('FastCDC: the WebAssembly hot loop', () => {
  it('finds the same chunks as the JavaScript loop for every normalization level and size range', () => {
    const random = prng(8 * 1024 * 1024 + 4321, 6);
    const zeros = Buffer.alloc(1024 * 1024 + 5);
    const pattern = Buffer.alloc(1024 * 1024 + 77);
    for (let i = 0; i < pattern.length; i++) pattern[i] = (i * 7) % 13;
    const optionSets: FastCdcOptions[] = [
      DEFAULT_FASTCDC_OPTIONS,
      { minSize: 4096, avgSize: 16384, maxSize: 65535 },
      ...([0, 1, 2, 3] as const).map((normalization) => ({ minSize: 64, avgSize: 256, maxSize: 1024, normalization })),
      { minSize: 1_048_576, avgSize: 4_194_304, maxSize: 16_777_216 },
    ];
    for (const opts of optionSets) {
      for (const buf of [random, zeros, pattern, sekien]) {
        const js = cutpoints(buf, opts, 'js');
        expect(js.length).toBeGreaterThan(0);
        expect(cutpoints(buf, opts)).toEqual(js);
      }
    }
  });

  it('is the module gear-scan.wat assembles to (npm run build:wasm)', async () => {
    // @ts-expect-error: a plain .mjs script without types
    const { assemble, moduleSource } = (await import('../../../scripts/build-wasm.mjs')) as {
      assemble: () => Promise<Buffer>;
      moduleSource: (bytes: Buffer) => string;
    };
    const committed = readFileSync(join(__dirname, '..', '..', '..', 'src-main', 'banks', 'dedup', 'gear-scan-wasm.ts'), 'utf8');
    expect(committed).toBe(moduleSource(await assemble()));
  });
});
