import fs from 'node:fs';
import zlib from 'node:zlib';

/** What a screenshot shows, measured from its pixels. */
export interface PngStats {
  bytes: number;
  width: number;
  height: number;
  /** Distinct colours among sampled pixels (capped at 4096). */
  colours: number;
  /** Share of sampled pixels that differ from the most common colour (0–1). */
  inked: number;
}

const paeth = (a: number, b: number, c: number): number => {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
};

/**
 * Decodes an 8-bit RGB/RGBA PNG (what Chromium writes) and measures it. A blank page is one
 * colour with nothing inked; a rendered page has text, borders and badges in many colours.
 */
export function pngStats(file: string): PngStats {
  const buf = fs.readFileSync(file);
  if (buf.subarray(0, 8).toString('hex') !== '89504e470d0a1a0a') throw new Error(`${file} is not a PNG`);
  let width = 0;
  let height = 0;
  let channels = 4;
  const idat: Buffer[] = [];
  for (let o = 8; o < buf.length;) {
    const len = buf.readUInt32BE(o);
    const type = buf.toString('ascii', o + 4, o + 8);
    const data = buf.subarray(o + 8, o + 8 + len);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      if (data[8] !== 8) throw new Error(`${file}: only 8-bit PNGs are measured`);
      channels = data[9] === 6 ? 4 : data[9] === 2 ? 3 : 0;
      if (!channels) throw new Error(`${file}: colour type ${data[9]} is not RGB(A)`);
    }
    if (type === 'IDAT') idat.push(data);
    o += 12 + len;
  }
  const raw = zlib.inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  const prev = Buffer.alloc(stride);
  const cur = Buffer.alloc(stride);
  const counts = new Map<number, number>();
  let sampled = 0;
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let i = 0; i < stride; i++) {
      const left = i >= channels ? (cur[i - channels] ?? 0) : 0;
      const up = prev[i] ?? 0;
      const upLeft = i >= channels ? (prev[i - channels] ?? 0) : 0;
      const x = line[i] ?? 0;
      cur[i] =
        (filter === 1
          ? x + left
          : filter === 2
            ? x + up
            : filter === 3
              ? x + ((left + up) >> 1)
              : filter === 4
                ? x + paeth(left, up, upLeft)
                : x) & 0xff;
    }
    if (y % 3 === 0) {
      for (let px = 0; px < width; px += 3) {
        const i = px * channels;
        const rgb = ((cur[i] ?? 0) << 16) | ((cur[i + 1] ?? 0) << 8) | (cur[i + 2] ?? 0);
        counts.set(rgb, (counts.get(rgb) ?? 0) + 1);
        sampled++;
      }
    }
    cur.copy(prev);
  }
  const top = Math.max(0, ...counts.values());
  return { bytes: buf.length, width, height, colours: Math.min(4096, counts.size), inked: sampled ? 1 - top / sampled : 0 };
}
