/**
 * FastCDC content-defined chunking: the canonical 2016 algorithm (Wen Xia et al., "FastCDC: a Fast and
 * Efficient Content-Defined Chunking Approach for Data Deduplication", USENIX ATC '16) with normalized
 * chunking, bit-for-bit compatible with the `v2016` module of the `fastcdc` Rust crate (nlfiedler/fastcdc-rs,
 * MIT): same gear table, same masks, same mask selection (`round(log2(avg))` ± normalization level), same
 * sub-minimum cut-point skipping and the same cut-point convention (the chunk ends *before* the byte whose
 * hash matched). Test vectors published with that crate are checked in test/banks/dedup/fastcdc.test.ts.
 *
 * Two entry points:
 *  - {@link cutpoints} for a whole in-memory buffer (no copies at all);
 *  - {@link FastCdcChunker} (incremental, synchronous), {@link chunkStream} (async generator over a Readable
 *    or any async iterable of byte arrays) and {@link FastCdcTransform} (a Transform emitting chunk objects).
 *    Their boundaries do not depend on how the input was split into reads: a cut point only depends on the
 *    bytes from the chunk start up to `maxSize` bytes further, or the end of input, so the streaming chunker
 *    only cuts once it holds at least `maxSize` bytes past the chunk start (or the input has ended).
 *
 * Speed: the gear hash is 64-bit, but a cut decision only reads hash bits 12..47 (no mask has a bit at or
 * above 48), and bit k of the hash depends only on bits <= k of the terms (shift left, add: carries move
 * up), so the hot loop keeps the low 48 bits as a 16-bit and a 32-bit small integer: no BigInt, no floats,
 * no allocation per byte. The full 64-bit hash reported for each chunk (the crate's `hash` field) is
 * recomputed at the cut from the last 64 hashed bytes, since older bytes have been shifted out of it.
 * Where WebAssembly runs (always in Node and Electron), the same loop runs in gear-scan.wat with a
 * plain 64-bit hash, three to four times faster; the JavaScript loop stays as the fallback and the
 * reference the tests compare it with.
 */
import { Transform, type TransformCallback } from 'node:stream';
import { GEAR_SCAN_WASM } from './gear-scan-wasm';

/** Smallest acceptable value for the minimum chunk size (as in the Rust crate). */
export const MINIMUM_MIN = 64;
/** Largest acceptable value for the minimum chunk size. */
export const MINIMUM_MAX = 1_048_576;
/** Smallest acceptable value for the average chunk size. */
export const AVERAGE_MIN = 256;
/** Largest acceptable value for the average chunk size. */
export const AVERAGE_MAX = 4_194_304;
/** Smallest acceptable value for the maximum chunk size. */
export const MAXIMUM_MIN = 1024;
/** Largest acceptable value for the maximum chunk size. */
export const MAXIMUM_MAX = 16_777_216;

/** Normalization level: 0 = none (wide spread of sizes) … 3 = nearly all chunks near the average. */
export type NormalizationLevel = 0 | 1 | 2 | 3;

export interface FastCdcOptions {
  /** Minimum chunk size in bytes (default 256 KiB). Only the final chunk of an input may be smaller. */
  minSize?: number;
  /** Desired average chunk size in bytes (default 1 MiB); picks the masks. */
  avgSize?: number;
  /** Maximum chunk size in bytes (default 4 MiB); no chunk is larger. */
  maxSize?: number;
  /** Normalized-chunking level (default 1, the crate's default). */
  normalization?: NormalizationLevel;
}

export type ResolvedFastCdcOptions = Required<FastCdcOptions>;

export const DEFAULT_FASTCDC_OPTIONS: Readonly<ResolvedFastCdcOptions> = Object.freeze({
  minSize: 256 * 1024,
  avgSize: 1024 * 1024,
  maxSize: 4 * 1024 * 1024,
  normalization: 1,
});

/** A chunk boundary: `[offset, offset + length)` of the input. */
export interface Cutpoint {
  offset: number;
  length: number;
  /** The 64-bit gear hash at the cut (the Rust crate's `hash`); 0 for a final chunk of at most `minSize` bytes. */
  hash: bigint;
}

/** A chunk with its bytes (a fresh Buffer owned by the caller). */
export interface Chunk extends Cutpoint {
  data: Buffer;
}

/**
 * Masks by number of bits (index = log2 of the target chunk size); indexes 0..4 are unused. Values from the
 * C reference implementation (destor) and restic-FastCDC, as used by the Rust crate.
 */
export const MASKS: readonly bigint[] = Object.freeze([
  0n,
  0n,
  0n,
  0n,
  0n,
  0x0000000001804110n, // unused except for NC 3
  0x0000000001803110n, // 64B
  0x0000000018035100n, // 128B
  0x0000001800035300n, // 256B
  0x0000019000353000n, // 512B
  0x0000590003530000n, // 1KB
  0x0000d90003530000n, // 2KB
  0x0000d90103530000n, // 4KB
  0x0000d90303530000n, // 8KB
  0x0000d90313530000n, // 16KB
  0x0000d90f03530000n, // 32KB
  0x0000d90303537000n, // 64KB
  0x0000d90703537000n, // 128KB
  0x0000d90707537000n, // 256KB
  0x0000d91707537000n, // 512KB
  0x0000d91747537000n, // 1MB
  0x0000d91767537000n, // 2MB
  0x0000d93767537000n, // 4MB
  0x0000d93777537000n, // 8MB
  0x0000d93777577000n, // 16MB
  0x0000db3777577000n, // unused except for NC 3
]);

/**
 * The gear table: entry i is the first 8 bytes (big-endian) of MD5 over 64 bytes all equal to i, as in the
 * C reference implementation and the Rust crate's `table64` example (the test suite re-derives it).
 */
const GEAR_HEX =
  '3b5d3c7d207e37dc 784d68ba91123086 cd52880f882e7298 eacf8e4e19fdcca7 c31f385dfbd1632b 1d5f27001e25abe6 83130bde3c9ad991 c4b225676e9b7649' +
  'aa329b29e08eb499 b67fcbd21e577d58 0027baaada2acf6b e3ef2d5ac73c2226 0890f24d6ed312b7 a809e036851d7c7e f0a6fe5e0013d81b 1d026304452cec14' +
  '03864632648e248f cdaacf3dcd92b9b4 f5e012e63c187856 8862f9d3821c00b6 a82f7338750f6f8a 1e583dc6c1cb0b6f 7a3145b69743a7f1 abb20fee404807eb' +
  'b14b3cfe07b83a5d b9dc27898adb9a0f 3703f5e91baa62be cf0bb866815f7d98 3d9867c41ea9dcd3 1be1fa65442bf22c 14300da4c55631d9 e698e9cbc6545c99' +
  '4763107ec64e92a5 c65821fc65696a24 76196c064822f0b7 485be841f3525e01 f652bc9c85974ff5 cad8352face9e3e9 2a6ed1dceb35e98e c6f483badc11680f' +
  '3cfd8c17e9cf12f1 89b83c5e2ea56471 ae665cfd24e392a9 ec33c4e504cb8915 3fb9b15fc9fe7451 d7fd1fd1945f2195 31ade0853443efd8 255efc9863e1e2d2' +
  '10eab6008d5642cf 46f04863257ac804 a52dc42a789a27d3 daaadf9ce77af565 6b479cd53d87febb 6309e2d3f93db72f c5738ffbaa1ff9d6 6bd57f3f25af7968' +
  '67605486d90d0a4a e14d0b9663bfbdae b7bbd8d816eb0414 def8a4f16b35a116 e7932d85aaaffed6 08161cbae90cfd48 855507beb294f08b 91234ea6ffd399b2' +
  'ad70cf4b2435f302 d289a97565bc2d27 8e558437ffca99de 96d2704b7115c040 0889bbcdfc660e41 5e0d4e67dc92128d 72a9f8917063ed97 438b69d409e016e3' +
  'df4fed8a5d8a4397 00f41dcf41d403f7 4814eb038e52603f 9dafbacc58e2d651 fe2f458e4be170af 4457ec414df6a940 06e62f1451123314 bd1014d173ba92cc' +
  'def318e25ed57760 9fea0de9dfca8525 459de1e76c20624b aeec189617e2d666 126a2c06ab5a83cb b1321532360f6132 65421503dbb40123 2d67c287ea089ab3' +
  '6c93bff5a56bd6b6 4ffb2036cab6d98d ce7b785b1be7ad4f edb42ef6189fd163 dc905288703988f6 365f9c1d2c691884 c640583680d99bfe 3cd4624c07593ec6' +
  '7f1ea8d85d7c5805 014842d480b57149 0b649bcb5a828688 bcd5708ed79b18f0 e987c862fbd2f2f0 982731671f0cd82c baf13e8b16d8c063 8ea3109cbd951bba' +
  'd141045bfb385cad 2acbc1a0af1f7d30 e6444d89df03bfdf a18cc771b8188ff9 9834429db01c39bb 214add07fe086a1f 8f07c19b1f6b3ff9 56a297b1bf4ffe55' +
  '94d558e493c54fc7 40bfc24c764552cb 931a706f8a8520cb 32229d322935bd52 2560d0f5dc4fefaf 9dbcc48355969bb6 0fd81c3985c0b56a e03817e1560f2bda' +
  'c1bb4f81d892b2d5 b0c4864f4e28d2d7 3ecc49f9d9d6c263 51307e99b52ba65e 8af2b688da84a752 f5d72523b91b20b6 6d95ff1ff4634806 562f21555458339a' +
  'c0ce47f889336346 487823e5089b40d8 e4727c7ebc6d9592 5a8f7277e94970ba fca2f406b1c8bb50 5b1f8a95f1791070 d304af9fc9028605 5440ab7fc930e748' +
  '312d25fbca2ab5a1 10f4a4b234a4d575 90301d55047e7473 3b6372886c61591e 293402b77c444e06 451f34a4d3e97dd7 3158d814d81bc57b 034942425b9bda69' +
  'e2032ff9e532d9bb 62ae066b8b2179e5 9545e10c2f8d71d8 7ff7483eb2d23fc0 00945fcebdc98d86 8764bbbe99b26ca2 1b1ec62284c0bfc3 58e0fcc4f0aa362b' +
  '5f4abefa878d458d fd74ac2f9607c519 a4e3fb37df8cbfa9 bf697e43cac574e5 86f14a3f68f4cd53 24a23d076f1ce522 e725cd8048868cc8 bf3c729eb2464362' +
  'd8f6cd57b3cc1ed8 6329e52425541577 62aa688ad5ae1ac0 0a242566269bf845 168b1a4753aca74b f789afefff2e7e3c 6c3362093b6fccdb 4ce8f50bd28c09b2' +
  '006a2db95ae8aa93 975b0d623c3d1a8c 18605d3935338c5b 5bb6f6136cad3c71 0f53a20701f8d8a6 ab8c5ad2e7e93c67 40b5ac5127acaa29 8c7bf63c2075895f' +
  '78bd9f7e014a805c b2c9e9f4f9c8c032 efd6049827eb91f3 2be459f482c16fbd d92ce0c5745aaa8c 0aaa8fb298d965b9 2b37f92c6c803b15 8c54a5e94e0f0e78' +
  '95f9b6e90c0a3032 e7939faa436c7874 d16bfe8f6a8a40c9 44982b86263fd2fa e285fb39f984e583 779a8df72d7619d3 f2d79a8de8d5dd1e d1037354d66684e2' +
  '004c82a4e668a8e5 31d40a7668b044e6 d70578538bd02c11 db45431078c5f482 977121bb7f6a51ad 73d5ccbd34eff8dd e437a07d356e17cd 47b2782043c95627' +
  '9fb251413e41d49a ccd70b60652513d3 1c95b31e8a1b49b2 cae73dfd1bcb4c1b 34d98331b1f5b70f 784e39f22338d92f 18613d4a064df420 f1d8dae25f0bcebe' +
  '33f77c15ae855efc 3c88b3b912eb109c 956a2ec96bafeea5 1aa005b5e0ad0e87 5500d70527c4bb8e e36c57196421cc44 13c4d286cc36ee39 5654a23d818b2a81' +
  '77b1dc13d161abdc 734f44de5f8d5eb5 60717e174a6c89a2 d47d9649266a211e 5b13a4322bb69e90 f7669609f8b5fc3c 21e6ac55bedcdac9 9b56b62b61166dea' +
  'f48f66b939797e9c 35f332f9c0e6ae9a cc733f6a9a878db0 3da161e41cc108c2 b7d74ae535914d51 4d493b0b11d36469 ce264d1dfba9741a a9d1f2dc7436dc06' +
  '70738016604c2a27 231d36e96e93f3d5 7666881197838d19 4a2a83090aaad40c f1e761591668b35d 7363236497f730a7 301080e37379dd4d 502dea2971827042' +
  'c2c5eb858f32625f 786afb9edfafbdff daee0d868490b2a4 617366b3268609f6 ae0e35a0fe46173e d1a07de93e824f11 079b8b115ea4cca8 93a99274558faebb' +
  'fb1e6e22e08a03b3 ea635fdba3698dd0 cf53659328503a5c cde3b31e6fd5d780 8e3e4221d3614413 ef14d0d86bf1a22c e1d830d3f16c5ddb aabd2b2a451504e1';

export const GEAR: readonly bigint[] = Object.freeze((GEAR_HEX.match(/[0-9a-f]{16}/g) ?? []).map((h) => BigInt(`0x${h}`)));
if (GEAR.length !== 256) throw new Error('fastcdc: malformed gear table');

/** Start size of a chunker's working buffer; it doubles as needed up to 2 × maxSize. */
const INITIAL_BUFFER = 64 * 1024;

const M16 = 0xffffn;
const M32 = 0xffffffffn;
/** Bits 0..15 of each gear value. */
const GEAR_LO16 = Int32Array.from(GEAR, (g) => Number(g & M16));
/** Bits 16..47 of each gear value, as a signed 32-bit integer. */
const GEAR_MID32 = Int32Array.from(GEAR, (g) => Number(BigInt.asIntN(32, g >> 16n)));
/** Bits 0..31 and 32..63 of each gear value, for the exact 64-bit hash. */
const GEAR_LO32 = Float64Array.from(GEAR, (g) => Number(g & M32));
const GEAR_HI32 = Float64Array.from(GEAR, (g) => Number(g >> 32n));

interface Params {
  readonly minSize: number;
  readonly avgSize: number;
  readonly maxSize: number;
  readonly maskS: bigint;
  readonly maskL: bigint;
  readonly sLo: number;
  readonly sMid: number;
  readonly lLo: number;
  readonly lMid: number;
}

function checkSize(name: string, value: number, lo: number, hi: number): void {
  if (!Number.isSafeInteger(value) || value < lo || value > hi) {
    throw new RangeError(`fastcdc: ${name} must be an integer in [${lo}, ${hi}], got ${String(value)}`);
  }
}

/** Validates options and fills in the defaults. Throws RangeError on bad values. */
export function resolveFastCdcOptions(opts: FastCdcOptions = {}): ResolvedFastCdcOptions {
  const r: ResolvedFastCdcOptions = {
    minSize: opts.minSize ?? DEFAULT_FASTCDC_OPTIONS.minSize,
    avgSize: opts.avgSize ?? DEFAULT_FASTCDC_OPTIONS.avgSize,
    maxSize: opts.maxSize ?? DEFAULT_FASTCDC_OPTIONS.maxSize,
    normalization: opts.normalization ?? DEFAULT_FASTCDC_OPTIONS.normalization,
  };
  checkSize('minSize', r.minSize, MINIMUM_MIN, MINIMUM_MAX);
  checkSize('avgSize', r.avgSize, AVERAGE_MIN, AVERAGE_MAX);
  checkSize('maxSize', r.maxSize, MAXIMUM_MIN, MAXIMUM_MAX);
  if (r.minSize > r.avgSize || r.avgSize > r.maxSize) {
    throw new RangeError(`fastcdc: need minSize <= avgSize <= maxSize, got ${r.minSize} / ${r.avgSize} / ${r.maxSize}`);
  }
  if (![0, 1, 2, 3].includes(r.normalization)) {
    throw new RangeError(`fastcdc: normalization must be 0, 1, 2 or 3, got ${String(r.normalization)}`);
  }
  return r;
}

/** The (small, large) masks for an average size and normalization level, as the crate picks them. */
export function masksFor(avgSize: number, normalization: NormalizationLevel): { maskS: bigint; maskL: bigint } {
  // Rounded base-2 logarithm (crate >= 4.0.1): the bucket whose size is closest to avgSize.
  const bits = Math.round(Math.log2(avgSize));
  const maskS = MASKS[bits + normalization];
  const maskL = MASKS[bits - normalization];
  if (maskS === undefined || maskL === undefined) throw new RangeError(`fastcdc: no mask for avgSize ${avgSize}`);
  return { maskS, maskL };
}

function makeParams(opts: FastCdcOptions | undefined): Params {
  const r = resolveFastCdcOptions(opts);
  const { maskS, maskL } = masksFor(r.avgSize, r.normalization);
  // All masks fit in 48 bits (checked below), so bits 0..15 and 16..47 are all a cut decision needs.
  for (const m of [maskS, maskL]) if (m >> 48n !== 0n) throw new Error('fastcdc: mask wider than 48 bits');
  return {
    minSize: r.minSize,
    avgSize: r.avgSize,
    maxSize: r.maxSize,
    maskS,
    maskL,
    sLo: Number(maskS & M16),
    sMid: Number(BigInt.asIntN(32, maskS >> 16n)),
    lLo: Number(maskL & M16),
    lMid: Number(BigInt.asIntN(32, maskL >> 16n)),
  };
}

/**
 * The crate's `cut()` on `src[start, end)`: returns the absolute end of the next chunk. `end - start` must be
 * the whole rest of the input, or at least `maxSize` bytes of it (then the result does not depend on `end`).
 */
function findCut(src: Uint8Array, start: number, end: number, p: Params): number {
  let remaining = end - start;
  if (remaining <= p.minSize) return end;
  let center = p.avgSize;
  if (remaining > p.maxSize) remaining = p.maxSize;
  else if (remaining < center) center = remaining;
  const gLo = GEAR_LO16;
  const gMid = GEAR_MID32;
  let i = start + p.minSize;
  const centerPos = start + center;
  const lastPos = start + remaining;
  let lo = 0; // hash bits 0..15 (plus a carry bit after the add)
  let mid = 0; // hash bits 16..47
  let mLo = p.sLo;
  let mMid = p.sMid;
  // Below the average size: the mask with more bits (harder to cut).
  for (; i < centerPos; i++) {
    const b = src[i]!;
    lo = (lo << 1) + gLo[b]!;
    mid = ((mid << 1) + gMid[b]! + (lo >>> 16)) | 0;
    lo &= 0xffff;
    if ((mid & mMid) === 0 && (lo & mLo) === 0) return i;
  }
  // Past the average size: the mask with fewer bits (easier to cut).
  mLo = p.lLo;
  mMid = p.lMid;
  for (; i < lastPos; i++) {
    const b = src[i]!;
    lo = (lo << 1) + gLo[b]!;
    mid = ((mid << 1) + gMid[b]! + (lo >>> 16)) | 0;
    lo &= 0xffff;
    if ((mid & mMid) === 0 && (lo & mLo) === 0) return i;
  }
  return i;
}

const TWO32 = 4294967296;

/** The crate's 64-bit hash for a chunk `[start, cut)` of an input ending at `end` (see findCut). */
function cutHash(src: Uint8Array, start: number, cut: number, end: number, p: Params): bigint {
  if (end - start <= p.minSize) return 0n;
  // Hashed bytes run from start + minSize to the matching byte (which is `cut`) or, without a match, to the
  // last byte of the window (`cut - 1`, the window being min(maxSize, end - start) bytes).
  const lastPos = start + Math.min(end - start, p.maxSize);
  const last = cut < lastPos ? cut : cut - 1;
  const first = Math.max(start + p.minSize, last - 63);
  let lo = 0;
  let hi = 0;
  for (let j = first; j <= last; j++) {
    const b = src[j]!;
    // (hi:lo << 1) + gear, modulo 2^64, with each half as an exact non-negative double below 2^32.
    const l = (lo % 2147483648) * 2 + GEAR_LO32[b]!;
    const carry = l >= TWO32 ? 1 : 0;
    hi = ((hi % 2147483648) * 2 + (lo >= 2147483648 ? 1 : 0) + GEAR_HI32[b]! + carry) % TWO32;
    lo = l - carry * TWO32;
  }
  return (BigInt(hi) << 32n) | BigInt(lo);
}

/** Where gear-scan.wat's window starts in its memory (the gear table is below it). */
const WASM_WINDOW = 2048;
/** Bytes copied into gear-scan.wat's window at a time: a cut usually comes long before maxSize. */
const WASM_SEGMENT = 256 * 1024;

interface GearScan {
  scan(len: number, center: number, small: bigint, large: bigint): number;
  reset(): void;
  bytes: Uint8Array;
}

let gearScan: GearScan | null | undefined;

/** This thread's instance of gear-scan.wat, made on first use; null where WebAssembly cannot run. */
function wasmScanner(): GearScan | null {
  if (gearScan !== undefined) return gearScan;
  try {
    const instance = new WebAssembly.Instance(new WebAssembly.Module(Buffer.from(GEAR_SCAN_WASM, 'base64')));
    const memory = instance.exports.memory as WebAssembly.Memory;
    memory.grow(Math.ceil((WASM_WINDOW + WASM_SEGMENT - memory.buffer.byteLength) / 65536));
    const table = new DataView(memory.buffer, 0, WASM_WINDOW);
    GEAR.forEach((g, i) => table.setBigUint64(i * 8, g, true));
    gearScan = {
      scan: instance.exports.scan as GearScan['scan'],
      reset: instance.exports.reset as GearScan['reset'],
      bytes: new Uint8Array(memory.buffer),
    };
  } catch {
    gearScan = null;
  }
  return gearScan;
}

/**
 * {@link findCut} with the hot loop in WebAssembly: the bytes past the minimum size go through
 * its window a segment at a time.
 */
function findCutWasm(w: GearScan, src: Uint8Array, start: number, end: number, p: Params): number {
  let remaining = end - start;
  if (remaining <= p.minSize) return end;
  let center = p.avgSize;
  if (remaining > p.maxSize) remaining = p.maxSize;
  else if (remaining < center) center = remaining;
  w.reset();
  for (let pos = p.minSize; pos < remaining; pos += WASM_SEGMENT) {
    const len = Math.min(WASM_SEGMENT, remaining - pos);
    w.bytes.set(src.subarray(start + pos, start + pos + len), WASM_WINDOW);
    const at = w.scan(len, Math.min(Math.max(center - pos, 0), len), p.maskS, p.maskL);
    if (at < len) return start + pos + at;
  }
  return start + remaining;
}

/** The next cut: in WebAssembly where it runs (several times faster), else in JavaScript. */
function nextCut(src: Uint8Array, start: number, end: number, p: Params, engine: CutEngine): number {
  const w = engine === 'js' ? null : wasmScanner();
  return w ? findCutWasm(w, src, start, end, p) : findCut(src, start, end, p);
}

/** Where the hot loop runs: WebAssembly when it can ('auto'), or JavaScript ('js', for comparisons). */
export type CutEngine = 'auto' | 'js';

/** All chunk boundaries of a whole buffer (same results as the crate's `v2016::FastCDC` iterator). */
export function cutpoints(buf: Uint8Array, opts?: FastCdcOptions, engine: CutEngine = 'auto'): Cutpoint[] {
  const p = makeParams(opts);
  const out: Cutpoint[] = [];
  const end = buf.length;
  let start = 0;
  while (start < end) {
    const cut = nextCut(buf, start, end, p, engine);
    out.push({ offset: start, length: cut - start, hash: cutHash(buf, start, cut, end, p) });
    start = cut;
  }
  return out;
}

/**
 * Incremental chunker: feed bytes with {@link push} in reads of any size, then call {@link finish}; the chunks
 * are exactly those {@link cutpoints} finds on the concatenated input. Memory: one working buffer that grows
 * with the input up to 2 × maxSize bytes (a small file costs about its size, not 8 MiB), plus the chunks
 * handed out.
 */
export class FastCdcChunker {
  readonly options: Readonly<ResolvedFastCdcOptions>;
  private readonly p: Params;
  private buf: Buffer;
  private head = 0;
  private tail = 0;
  private emitted = 0;
  private finished = false;

  constructor(opts?: FastCdcOptions) {
    this.options = Object.freeze(resolveFastCdcOptions(opts));
    this.p = makeParams(this.options);
    this.buf = Buffer.allocUnsafe(Math.min(INITIAL_BUFFER, 2 * this.p.maxSize));
  }

  /** Bytes consumed so far (pushed), and the offset the next chunk starts at. */
  get bytesIn(): number {
    return this.emitted + (this.tail - this.head);
  }

  get nextOffset(): number {
    return this.emitted;
  }

  /** Adds input; returns the chunks that are now final (possibly none). */
  push(data: Uint8Array): Chunk[] {
    if (this.finished) throw new Error('fastcdc: push() after finish()');
    const out: Chunk[] = [];
    const max = this.p.maxSize;
    let pos = 0;
    while (pos < data.length) {
      if (this.tail === this.buf.length) this.makeRoom(data.length - pos);
      const n = Math.min(data.length - pos, this.buf.length - this.tail);
      this.buf.set(data.subarray(pos, pos + n), this.tail);
      this.tail += n;
      pos += n;
      // With at least maxSize bytes past the chunk start, later input cannot change the cut.
      while (this.tail - this.head >= max) out.push(this.emit());
    }
    return out;
  }

  /** Ends the input; returns the remaining chunks. */
  finish(): Chunk[] {
    if (this.finished) return [];
    this.finished = true;
    const out: Chunk[] = [];
    while (this.tail > this.head) out.push(this.emit());
    return out;
  }

  private emit(): Chunk {
    const { buf, head, tail, p } = this;
    const cut = nextCut(buf, head, tail, p, 'auto');
    const length = cut - head;
    const data = Buffer.allocUnsafe(length);
    buf.copy(data, 0, head, cut);
    const chunk: Chunk = { offset: this.emitted, length, hash: cutHash(buf, head, cut, tail, p), data };
    this.emitted += length;
    this.head = cut;
    return chunk;
  }

  /** Frees space at the end of the buffer: moves the pending bytes to the front, or grows it (up to 2 × maxSize). */
  private makeRoom(wanted: number): void {
    const limit = 2 * this.p.maxSize;
    if (this.head === 0 || (this.buf.length < limit && this.head < this.buf.length / 2)) {
      const pending = this.tail - this.head;
      const size = Math.min(limit, Math.max(2 * this.buf.length, pending + wanted));
      if (size > this.buf.length) {
        const next = Buffer.allocUnsafe(size);
        this.buf.copy(next, 0, this.head, this.tail);
        this.buf = next;
        this.tail = pending;
        this.head = 0;
        return;
      }
    }
    this.compact();
  }

  private compact(): void {
    if (this.head === 0) return;
    this.buf.copyWithin(0, this.head, this.tail);
    this.tail -= this.head;
    this.head = 0;
  }
}

function asBytes(piece: unknown): Uint8Array {
  if (piece instanceof Uint8Array) return piece;
  throw new TypeError(
    `fastcdc: expected a stream of bytes (Buffer/Uint8Array), got ${typeof piece === 'string' ? 'a string (is an encoding set?)' : typeof piece}`,
  );
}

/**
 * Chunks a byte stream (a Readable, or any sync or async iterable of Buffers/Uint8Arrays), yielding
 * `{offset, length, hash, data}` in order. Boundaries do not depend on how the input is split.
 */
export async function* chunkStream(
  source: AsyncIterable<unknown> | Iterable<unknown>,
  opts?: FastCdcOptions,
): AsyncGenerator<Chunk, void, undefined> {
  const chunker = new FastCdcChunker(opts);
  for await (const piece of source) {
    for (const chunk of chunker.push(asBytes(piece))) yield chunk;
  }
  for (const chunk of chunker.finish()) yield chunk;
}

/** A Transform: bytes in, {@link Chunk} objects out (readable side in object mode). */
export class FastCdcTransform extends Transform {
  private readonly chunker: FastCdcChunker;

  constructor(opts?: FastCdcOptions) {
    super({ readableObjectMode: true, writableObjectMode: false });
    this.chunker = new FastCdcChunker(opts);
  }

  override _transform(piece: unknown, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      for (const chunk of this.chunker.push(asBytes(piece))) this.push(chunk);
      callback();
    } catch (err) {
      callback(err as Error);
    }
  }

  override _flush(callback: TransformCallback): void {
    try {
      for (const chunk of this.chunker.finish()) this.push(chunk);
      callback();
    } catch (err) {
      callback(err as Error);
    }
  }
}
