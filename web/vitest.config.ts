// Unit tests resolve the `@/…` imports the way Next does, from tsconfig.json's paths.
import { defineConfig } from 'vitest/config';

export default defineConfig({ resolve: { tsconfigPaths: true } });
