import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // PGlite runs every migration at start: slow on a busy 2-core machine
    hookTimeout: 60_000,
    fileParallelism: false,
  },
});
