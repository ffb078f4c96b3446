import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** Another engine (the desktop app or `serve`) has the data folder. */
export class EngineLocked extends Error {
  readonly code = 'ENGINE_LOCKED';
  constructor(message: string) {
    super(message);
    this.name = 'EngineLocked';
  }
}

interface Holder {
  pid: number;
  host: string;
  since: string;
}

/** The lock file's name in the data folder. */
export const ENGINE_LOCK = 'engine.lock';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readHolder(file: string): Holder | undefined {
  try {
    const h = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<Holder>;
    return typeof h.pid === 'number' && typeof h.host === 'string' ? { pid: h.pid, host: h.host, since: String(h.since ?? '') } : undefined;
  } catch {
    // Missing, or cut short by a crash while it was written: nobody holds it.
    return undefined;
  }
}

/**
 * Takes the data folder for this engine: one engine per data folder, since each runs the
 * scheduler and, at its start, repairs operations the last one left running, which must not be
 * another's running operations. The lock is a file naming the process (pid and host); one whose
 * process is gone (a crash) is taken over. Held by another live process of this host, or by any
 * process of another host (a folder on a shared disk), the start fails naming it.
 *
 * @throws EngineLocked
 */
export function lockDataFolder(dataDir: string): { release(): void } {
  const file = path.join(dataDir, ENGINE_LOCK);
  const me: Holder = { pid: process.pid, host: os.hostname(), since: new Date().toISOString() };
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      fs.writeFileSync(file, JSON.stringify(me), { flag: 'wx', mode: 0o600 });
      return {
        release: () => {
          const h = readHolder(file);
          if (h && h.pid === me.pid && h.host === me.host) fs.rmSync(file, { force: true });
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const h = readHolder(file);
    if (h && h.host !== me.host) {
      throw new EngineLocked(
        `the data folder ${dataDir} is in use by an engine on ${h.host} (pid ${h.pid}, since ${h.since}); if it is not running, delete ${file}`,
      );
    }
    if (h && alive(h.pid)) {
      throw new EngineLocked(
        `the data folder ${dataDir} is in use by another Karbor engine (pid ${h.pid}, since ${h.since}): the app or \`serve\` is already running on it`,
      );
    }
    // Its process is gone (a crash, a power loss): take it over.
    fs.rmSync(file, { force: true });
  }
  throw new EngineLocked(`could not take the lock ${file}: other engines are starting on ${dataDir} at the same time`);
}
