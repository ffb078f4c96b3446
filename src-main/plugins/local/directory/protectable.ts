import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { v5 as uuidv5 } from 'uuid';
import type { JsonObject } from '../../../engine/db/schema/common';
import { Invalid } from '../../../engine/errors';
import type { ProtectablePlugin, Resource } from '../../../engine/protectables/types';

export const DIRECTORY_TYPE = 'Local::FS::Directory';
/** Namespace for directory ids: id = UUIDv5(absolute path). */
export const DIRECTORY_NAMESPACE = '6f1b1b8e-3c36-5a8e-9a43-0c5d9e0c6a11';

export function directoryId(absPath: string): string {
  return uuidv5(absPath, DIRECTORY_NAMESPACE);
}

/**
 * Directories on this machine. `parameters.path` lists that directory's subdirectories (the
 * user's home when absent), so a UI can browse; each listed directory is remembered so its id
 * (a one-way UUIDv5 of the path) can be shown later.
 */
export function directoryProtectable(home = os.homedir()): ProtectablePlugin {
  const toResource = (abs: string): Resource => ({ id: directoryId(abs), type: DIRECTORY_TYPE, name: abs });
  return {
    type: DIRECTORY_TYPE,
    dependentTypes: [],
    async listInstances(ctx, parameters: JsonObject) {
      const raw = parameters.path ?? home;
      if (typeof raw !== 'string' || !path.isAbsolute(raw)) throw new Invalid(`parameters.path must be an absolute path`);
      const base = path.resolve(raw);
      let entries;
      try {
        entries = await fs.readdir(base, { withFileTypes: true });
      } catch (err) {
        throw new Invalid(`cannot list ${base}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      }
      const dirs = entries
        .filter((e) => e.isDirectory())
        .map((e) => path.join(base, e.name))
        .sort();
      const out = [base, ...dirs].map(toResource);
      for (const r of out) ctx.remember(DIRECTORY_TYPE, r.id, r.name, r.name);
      return out;
    },
    async showInstance(ctx, id) {
      const known = ctx.recall(DIRECTORY_TYPE, id);
      if (!known) return undefined;
      const st = await fs.stat(known.locator).catch(() => undefined);
      return st?.isDirectory() ? toResource(known.locator) : undefined;
    },
    dependents: () => Promise.resolve([]),
  };
}
