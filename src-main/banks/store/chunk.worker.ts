/**
 * A chunk worker: cuts streams into content-defined chunks (FastCDC, with the stream's SHA-256),
 * hashes, compresses (and encrypts) chunks for the put path, and decrypts,
 * decompresses and checks them for the read path, off the main thread. It holds a hashed chunk
 * until the main thread says whether the bank needs it (`seal`) or already has it (`drop`), so a
 * duplicate chunk costs a hash, not a compression. It touches the bank only to store and restore
 * small files of a local bank and to read its chunks (direct-files.ts), and never SQLite. It also
 * walks the trees a protect reads (walk-sync.ts).
 */
import { createHash, type Hash } from 'node:crypto';
import { parentPort } from 'node:worker_threads';
import { FastCdcChunker, type FastCdcOptions } from '../dedup/fastcdc';
import { chunkIdOf, openChunk, ownedBytes, sealChunk, type ChunkReply, type ChunkRequest } from './chunk-codec';
import { BankFileError, readChunk, restoreFile, storeFile } from './direct-files';
import { SyncWalk } from './walk-sync';

const port = parentPort;
if (!port) throw new Error('chunk.worker must run as a worker thread');

const held = new Map<number, Uint8Array>();
const streams = new Map<number, { chunker: FastCdcChunker; whole: Hash }>();
const walks = new Map<number, SyncWalk>();

function send(reply: ChunkReply, data?: Uint8Array): void {
  port?.postMessage(reply, data ? [data.buffer as ArrayBuffer] : []);
}

function stream(id: number, chunking: FastCdcOptions): { chunker: FastCdcChunker; whole: Hash } {
  let s = streams.get(id);
  if (!s) streams.set(id, (s = { chunker: new FastCdcChunker(chunking), whole: createHash('sha256') }));
  return s;
}

function sendChunks(n: number, chunks: Uint8Array[], sha256?: string): void {
  const owned = chunks.map(ownedBytes);
  port?.postMessage(
    { n, chunks: owned, sha256 } satisfies ChunkReply,
    owned.map((c) => c.buffer as ArrayBuffer),
  );
}

port.on('message', (m: ChunkRequest) => {
  try {
    switch (m.t) {
      case 'hash':
        held.set(m.n, m.data);
        send({ n: m.n, id: chunkIdOf(m.spec, m.data) });
        break;
      case 'seal': {
        const data = held.get(m.ticket);
        held.delete(m.ticket);
        if (!data) throw new Error(`no chunk held for ticket ${m.ticket}`);
        const out = ownedBytes(sealChunk(m.spec, data, m.id));
        send({ n: m.n, data: out }, out);
        break;
      }
      case 'drop':
        held.delete(m.ticket);
        break;
      case 'seal-data': {
        const out = ownedBytes(sealChunk(m.spec, m.data, m.id));
        send({ n: m.n, data: out }, out);
        break;
      }
      case 'cut': {
        const s = stream(m.stream, m.chunking);
        s.whole.update(m.data);
        sendChunks(
          m.n,
          s.chunker.push(m.data).map((c) => c.data),
        );
        break;
      }
      case 'cut-end': {
        const s = stream(m.stream, m.chunking);
        streams.delete(m.stream);
        sendChunks(
          m.n,
          s.chunker.finish().map((c) => c.data),
          s.whole.digest('hex'),
        );
        break;
      }
      case 'cut-drop':
        streams.delete(m.stream);
        break;
      case 'store-file':
        send({ n: m.n, stored: storeFile(m.spec, m) });
        break;
      case 'walk': {
        let w = walks.get(m.walk);
        if (!w) walks.set(m.walk, (w = new SyncWalk(m.root, m)));
        const walked = w.next(m.max);
        if (walked.done) walks.delete(m.walk);
        send({ n: m.n, walked });
        break;
      }
      case 'walk-drop':
        walks.delete(m.walk);
        break;
      case 'restore-file':
        restoreFile(m.spec, m);
        send({ n: m.n, done: true });
        break;
      case 'open': {
        const out = ownedBytes(openChunk(m.spec, m.stored, m.id, m.length));
        send({ n: m.n, data: out }, out);
        break;
      }
      case 'read-chunk': {
        const out = ownedBytes(readChunk(m.spec, m));
        send({ n: m.n, data: out }, out);
        break;
      }
    }
  } catch (err) {
    const e = err instanceof Error ? err : new Error(String(err));
    const code = (e as NodeJS.ErrnoException).code;
    send({
      n: m.n,
      error: { name: e.name, message: e.message, code: typeof code === 'string' ? code : undefined, bank: e instanceof BankFileError },
    });
  }
});
