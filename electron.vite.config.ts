import { svelte } from '@sveltejs/vite-plugin-svelte';
import { defineConfig } from 'electron-vite';
import { resolve } from 'node:path';

export default defineConfig({
  main: {
    build: {
      outDir: 'out/main',
      externalizeDeps: { exclude: ['drizzle-orm', 'uuid', 'cron-parser', 'rrule', 'picomatch'] },
      lib: {
        entry: {
          index: resolve(__dirname, 'src-main/index.ts'),
          serve: resolve(__dirname, 'src-main/serve.ts'),
          tokens: resolve(__dirname, 'src-main/tokens.ts'),
          'register-endpoint': resolve(__dirname, 'src-main/register-endpoint.ts'),
          // The engine as a library, for scripts and benchmarks: require('out/main/engine.js').
          engine: resolve(__dirname, 'src-main/engine/index.ts'),
          // The chunk store alone, for bench/chunk-store.mjs. Chunk workers need no entry here:
          // `./chunk.worker?nodeWorker` makes electron-vite bundle them beside whatever imports them.
          'chunk-store': resolve(__dirname, 'src-main/banks/store/index.ts'),
        },
      },
    },
  },
  preload: {
    build: {
      outDir: 'out/preload',
      lib: { entry: resolve(__dirname, 'src-preload/index.ts') },
    },
  },
  renderer: {
    root: resolve(__dirname, 'src-renderer'),
    base: './',
    plugins: [svelte({ configFile: resolve(__dirname, 'svelte.config.mjs') })],
    build: {
      outDir: resolve(__dirname, 'out/renderer'),
      rolldownOptions: { input: resolve(__dirname, 'src-renderer/index.html') },
    },
  },
});
