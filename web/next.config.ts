// Next.js config for the Cellmark web UI, served by @cellmark/server on the same port.
import type { NextConfig } from 'next';

const config: NextConfig = {
  // One copy of yjs: the server-rendering bundle must not inline its own. Two copies in one
  // process break Yjs (its constructor checks fail across copies; Yjs warns "Yjs was already imported").
  serverExternalPackages: ['yjs'],
  poweredByHeader: false,
  reactStrictMode: true,
  // `npm start` builds without next's type check, ~40% of its first build on 2 cores;
  // `npm run typecheck` (and CI) check the same files
  typescript: { ignoreBuildErrors: process.env.CELLMARK_BUILD_NO_TYPECHECK === '1' },
};

export default config;
