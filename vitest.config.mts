import { build } from 'esbuild';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Plugin } from 'vite';
import { configDefaults, defineConfig } from 'vitest/config';

const SUFFIX = '?nodeWorker';

/**
 * electron-vite's `?nodeWorker` import for tests: the imported module is bundled (dependencies
 * left to node_modules) and the import is a function that starts it as a worker thread.
 */
const nodeWorker: Plugin = {
  name: 'node-worker-for-tests',
  enforce: 'pre',
  async resolveId(id, importer) {
    if (!id.endsWith(SUFFIX)) return null;
    const resolved = await this.resolve(id.slice(0, -SUFFIX.length), importer, { skipSelf: true });
    return resolved ? `${resolved.id}${SUFFIX}` : null;
  },
  async load(id) {
    if (!id.endsWith(SUFFIX)) return null;
    const entry = id.slice(0, -SUFFIX.length);
    const out = await build({
      entryPoints: [entry],
      write: false,
      bundle: true,
      platform: 'node',
      format: 'esm',
      packages: 'external',
      target: 'node20',
      logLevel: 'silent',
    });
    const code = out.outputFiles[0]?.contents ?? new Uint8Array();
    // Named by content and renamed into place: concurrent test runs never see a half-written file.
    const name = `${path.basename(entry).replace(/\.[cm]?ts$/, '')}-${createHash('sha256').update(code).digest('hex').slice(0, 12)}.mjs`;
    const outfile = path.resolve('node_modules/.vitest-workers', name);
    if (!fs.existsSync(outfile)) {
      fs.mkdirSync(path.dirname(outfile), { recursive: true });
      fs.writeFileSync(`${outfile}.${process.pid}.tmp`, code);
      fs.renameSync(`${outfile}.${process.pid}.tmp`, outfile);
    }
    return `import { Worker } from 'node:worker_threads';\nexport default function startWorker(options) { return new Worker(${JSON.stringify(outfile)}, options); }\n`;
  },
};

export default defineConfig({
  plugins: [nodeWorker],
  test: {
    include: ['test/**/*.test.ts'],
    // test/openstack needs a running cloud: `npm run test:openstack` (vitest.openstack.config.mts).
    exclude: [...configDefaults.exclude, 'test/openstack/**'],
    environment: 'node',
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters: ['default'],
  },
});
