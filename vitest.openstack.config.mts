import { configDefaults, defineConfig } from 'vitest/config';
import base from './vitest.config.mjs';

/** Tests against a real OpenStack on 127.0.0.1 (`scripts/test-openstack.sh` starts one and sources its openrc). */
export default defineConfig({
  ...base,
  test: {
    ...base.test,
    include: ['test/openstack/**/*.test.ts'],
    exclude: configDefaults.exclude,
    // One cloud, shared: files run one after another (one of them stops and restarts Glance).
    fileParallelism: false,
    testTimeout: 900_000,
    hookTimeout: 900_000,
  },
});
