// Draws the app and tray icons (plain PNGs, no image library needed): a shield-like disc whose
// colour tells the tray state. Run once after changing colours: node scripts/make-icons.mjs
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';

const crcTable = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
const crc32 = (buf) => {
  let c = 0xffffffff;
  for (const b of buf) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
};
const chunk = (type, data) => {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(td));
  return Buffer.concat([len, td, crc]);
};

function png(size, [r, g, b]) {
  const raw = Buffer.alloc((size * 4 + 1) * size);
  const c = (size - 1) / 2;
  for (let y = 0; y < size; y++) {
    raw[y * (size * 4 + 1)] = 0;
    for (let x = 0; x < size; x++) {
      const d = Math.hypot(x - c, y - c) / (size / 2);
      const o = y * (size * 4 + 1) + 1 + x * 4;
      const inner = d < 0.55 && Math.abs(x - c) < size * 0.12;
      raw[o] = inner ? 255 : r;
      raw[o + 1] = inner ? 255 : g;
      raw[o + 2] = inner ? 255 : b;
      raw[o + 3] = d <= 0.92 ? 255 : d <= 1 ? Math.round(255 * (1 - (d - 0.92) / 0.08)) : 0;
    }
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr[8] = 8;
  ihdr[9] = 6;
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', zlib.deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

const dir = path.join(path.dirname(new URL(import.meta.url).pathname), '..', 'resources', 'icons');
fs.mkdirSync(dir, { recursive: true });
const blue = [30, 99, 180];
fs.writeFileSync(path.join(dir, 'icon.png'), png(512, blue));
fs.writeFileSync(path.join(dir, 'tray-idle.png'), png(32, blue));
fs.writeFileSync(path.join(dir, 'tray-running.png'), png(32, [230, 150, 20]));
fs.writeFileSync(path.join(dir, 'tray-failed.png'), png(32, [200, 30, 40]));
console.log(`icons written to ${dir}`);
