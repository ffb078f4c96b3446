import type { Readable } from 'node:stream';
import type { JsonObject } from '../../engine/db/schema/common';
import type { ResourceData, StoredStream } from '../../engine/providers/types';
import { type ChunkStore, CorruptData } from './chunk-store';
import type { Manifest } from './types';
import type { WalkFilter } from './walk-sync';

const resourceDir = async (store: ChunkStore, checkpointId: string, key: string): Promise<string> =>
  `checkpoints/${checkpointId}/resources/${await store.objectName(key)}`;
const NAME = /^[A-Za-z0-9._-]{1,128}$/;

/** The index written last: a checkpoint without it is incomplete and never shown as stored. */
export interface CheckpointIndex {
  checkpointId: string;
  createdAt: string;
  resources: Record<string, string[]>;
}

/**
 * A checkpoint's objects in a bank: per-resource manifests under `checkpoints/<id>/resources/`,
 * and `checkpoints/<id>/index.json` committed last (bank puts are atomic), so a crash never
 * exposes half a checkpoint. In an encrypted bank every one of these objects is encrypted too
 * (they name files and resources), and resource folders are keyed hashes.
 */
export class CheckpointData {
  private readonly written = new Map<string, string[]>();
  /** Every chunk this checkpoint refers to, inline manifests included: what a sweep keeps. */
  private readonly refs = new Set<string>();

  constructor(
    private readonly store: ChunkStore,
    readonly checkpointId: string,
  ) {}

  forResource(key: string, onBytes?: (n: number) => void, signal?: AbortSignal): ResourceData {
    let dirName: Promise<string> | undefined;
    const dir = (): Promise<string> => (dirName ??= resourceDir(this.store, this.checkpointId, key));
    const manifestKey = async (name: string): Promise<string> => {
      if (!NAME.test(name)) throw new Error(`invalid stream name '${name}'`);
      return `${await dir()}/${name}.manifest.json`;
    };
    const readManifest = async (name: string): Promise<Manifest> => {
      try {
        return await this.store.getObject<Manifest>(await manifestKey(name));
      } catch (err) {
        throw new CorruptData(`stream '${name}' of ${key} cannot be read: ${err instanceof Error ? err.message : String(err)}`);
      }
    };
    const putData = (data: Readable | Buffer) =>
      Buffer.isBuffer(data) ? this.store.putBuffer(data, onBytes, signal) : this.store.put(data, onBytes, signal);
    return {
      put: async (name: string, data: Readable | Buffer): Promise<StoredStream & { newBytes: number }> => {
        const res = await putData(data);
        res.manifest.chunks.forEach((c) => this.refs.add(c.id));
        await this.store.putObject(await manifestKey(name), res.manifest);
        const names = this.written.get(key) ?? [];
        names.push(name);
        this.written.set(key, names);
        return { name, size: res.manifest.size, sha256: res.manifest.sha256, newBytes: res.newBytes };
      },
      get: async (name: string) => this.store.get(await readManifest(name)),
      verify: async (name: string) => {
        try {
          await this.store.verify(await readManifest(name));
        } catch (err) {
          throw new CorruptData(`${name}: ${err instanceof Error ? err.message : String(err)}`);
        }
      },
      store: async (data: Readable | Buffer) => {
        const res = await putData(data);
        res.manifest.chunks.forEach((c) => this.refs.add(c.id));
        return { manifest: res.manifest as unknown as JsonObject, size: res.manifest.size, newBytes: res.newBytes };
      },
      storeFile: async (file: string, size: number) => {
        const res = await this.store.putFile(file, size, onBytes, signal);
        if (!res) return undefined;
        res.manifest.chunks.forEach((c) => this.refs.add(c.id));
        return { manifest: res.manifest as unknown as JsonObject, size: res.manifest.size, newBytes: res.newBytes };
      },
      restoreFile: (manifest: JsonObject, dest: string, file: { flags: string; mode: number; atime: number; mtime: number }) =>
        this.store.restoreFile(manifest as unknown as Manifest, dest, file),
      walk: (root: string, filter: WalkFilter) => this.store.walk(root, filter),
      load: (manifest: JsonObject) => this.store.get(manifest as unknown as Manifest),
      read: (manifest: JsonObject) => this.store.getBuffer(manifest as unknown as Manifest),
      /** Keeps chunks of an earlier checkpoint that this one reuses (unchanged files). */
      reuse: (manifest: JsonObject) => (manifest as unknown as Manifest).chunks.forEach((c) => this.refs.add(c.id)),
      check: (manifest: JsonObject) => this.store.verify(manifest as unknown as Manifest),
      list: async () => {
        const out: string[] = [];
        const d = await dir();
        for await (const k of this.store.bank.list(`${d}/`)) out.push(k.slice(d.length + 1).replace(/\.manifest\.json$/, ''));
        return out.sort();
      },
    };
  }

  /** Writes the index: from now on the checkpoint is complete in the bank. */
  async commit(createdAt: string): Promise<void> {
    const index: CheckpointIndex = { checkpointId: this.checkpointId, createdAt, resources: Object.fromEntries(this.written) };
    // Flushes every chunk (the pieces too) before it is written: all durable before the index names them.
    await this.store.writeRefs(`checkpoints/${this.checkpointId}/refs.json`, this.refs);
    await this.store.putObject(`checkpoints/${this.checkpointId}/index.json`, index);
  }
}

/** Removes a checkpoint's objects (index first, so it stops counting as stored), then frees unused chunks. */
export async function deleteCheckpointData(store: ChunkStore, checkpointId: string): Promise<{ chunks: number; bytes: number }> {
  // A wrong passphrase fails here, before anything is deleted.
  await store.ready(true);
  // Settles what an earlier write session left unsynced (a failed protect cleans up in a session
  // of its own, after the one that wrote): that session's marker goes with its chunks.
  await store.repairUnsynced();
  await store.bank.delete(`checkpoints/${checkpointId}/index.json`);
  const keys: string[] = [];
  for await (const k of store.bank.list(`checkpoints/${checkpointId}/`)) keys.push(k);
  for (const k of keys) await store.bank.delete(k);
  const freed = await store.sweep(await store.liveChunks(checkpointId));
  // A failed protect's unsynced chunks are gone now: settle the rest, so its marker goes too.
  await store.flush();
  return freed;
}
