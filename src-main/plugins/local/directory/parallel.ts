export { eachLimit } from '../../../engine/each-limit';

/** Files handled at once by one directory resource: small files are dominated by I/O latency. */
export const FILE_CONCURRENCY = 8;
