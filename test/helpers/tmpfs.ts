import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { tempDir } from './harness';

/**
 * A real small tmpfs mounted on a new temp folder, for full-disk cases. Mounting needs root with
 * CAP_SYS_ADMIN (as in CI); elsewhere `reason` says why not, for the suite to report its skip.
 */
export function mountTmpfs(size: string, prefix: string): { dir?: string; reason?: string } {
  const dir = tempDir(prefix);
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { encoding: 'utf8' });
  if (r.status === 0) return { dir };
  fs.rmSync(dir, { recursive: true, force: true });
  return { reason: (r.error?.message ?? r.stderr) || `mount exited ${r.status}` };
}

export function unmountTmpfs(dir: string | undefined): void {
  if (!dir) return;
  spawnSync('umount', [dir]);
  fs.rmSync(dir, { recursive: true, force: true });
}
