/**
 * A chunk worker: hashes, compresses (and encrypts) chunks for the put path, and decrypts,
 * decompresses and checks them for the read path, off the main thread. It holds a hashed chunk
 * until the main thread says whether the bank needs it (`seal`) or already has it (`drop`), so a
 * duplicate chunk costs a hash, not a compression. It never touches the bank or SQLite.
 */
import { parentPort } from 'node:worker_threads';
import { chunkIdOf, openChunk, ownedBytes, sealChunk, type ChunkReply, type ChunkRequest } from './chunk-codec';

const port = parentPort;
if (!port) throw new Error('chunk.worker must run as a worker thread');

const held = new Map<number, Uint8Array>();

function send(reply: ChunkReply, data?: Uint8Array): void {
  port?.postMessage(reply, data ? [data.buffer as ArrayBuffer] : []);
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
      case 'open': {
        const out = ownedBytes(openChunk(m.spec, m.stored, m.id, m.length));
        send({ n: m.n, data: out }, out);
        break;
      }
    }
  } catch (err) {
    const e = err instanceof Error ? err : new Error(String(err));
    send({ n: m.n, error: { name: e.name, message: e.message } });
  }
});
