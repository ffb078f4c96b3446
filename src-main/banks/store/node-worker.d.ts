// electron-vite's `?nodeWorker` import (vitest.config.mts does the same for tests): a function
// that starts the imported module, bundled as its own file, as a worker thread.
declare module '*?nodeWorker' {
  import type { Worker, WorkerOptions } from 'node:worker_threads';
  export default function startWorker(options?: WorkerOptions): Worker;
}
