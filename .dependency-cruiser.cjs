// Import boundaries of the layering the code follows (docs/architecture.md, "Tooling").
// Paths are resolved files, so `@cellmark/server/router` is server/src/trpc/router.ts and a
// relative `../../trpc/x.ts` is caught the same as a package import. Run by `npm run lint`.
// The wire schema module (server/src/wire.ts, wire/ or any */wire.ts under src), wherever the server keeps it.
const WIRE = '^server/src/(wire\\.ts$|wire/|.*/wire\\.ts$)';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'domain-imports-no-transport',
      comment:
        'server/src/domain is the logic the transports call: it receives db, blobs and the actor as arguments and imports nothing from tRPC, HTTP or the collab websocket.',
      severity: 'error',
      from: { path: '^server/src/domain/' },
      to: { path: '^server/src/(trpc|http|collab)/' },
    },
    {
      name: 'web-imports-only-the-router-type',
      comment: 'web talks to the server over tRPC only: it may import the AppRouter type, never server or db code.',
      severity: 'error',
      from: { path: '^web/' },
      to: { path: '^(server|db)/', pathNot: '^server/src/trpc/router\\.ts$' },
    },
    {
      name: 'web-imports-the-router-as-a-type',
      comment: 'Use `import type` for the router: a value import would bundle the server into the browser.',
      severity: 'error',
      from: { path: '^web/' },
      to: { path: '^server/src/trpc/router\\.ts$', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'extension-imports-no-cellmark-package',
      comment:
        'The JupyterLab frontend is built and shipped on its own: it imports nothing from web, server or db. The one allowed link is `import type` of the server wire schema.',
      severity: 'error',
      from: { path: '^jupyterlab-extension/src/' },
      to: { path: '^(web|server|db)/', pathNot: WIRE },
    },
    {
      name: 'extension-imports-the-wire-as-a-type',
      comment: 'A value import of the wire schema would bundle zod and server code into the labextension.',
      severity: 'error',
      from: { path: '^jupyterlab-extension/src/' },
      to: { path: WIRE, dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'not-to-unresolvable',
      comment: 'An import that does not resolve cannot be checked against the rules above (and fails at run time).',
      severity: 'error',
      from: {},
      // `@/…` is web's own path alias (web/tsconfig.json), left unresolved here: every web file is cruised
      // itself, so its imports are checked where they are written, and tsc resolves the alias.
      to: { couldNotResolve: true, pathNot: '^@/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)(node_modules|\\.next)/|^jupyterlab-extension/(lib|cellmark/labextension)/' },
    tsPreCompilationDeps: true,
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.tsx', '.d.ts', '.js', '.mjs', '.cjs', '.mts'],
      mainFields: ['module', 'main', 'types', 'typings'],
    },
    skipAnalysisNotInRules: true,
  },
};
