// The whole schema, one aggregate per file.
export * from './auth.ts';
export * from './metrics.ts';
export * from './relations.ts';
export * from './reports.ts';
export * from './runs.ts';
export * from './teams.ts';
export * from './tokens.ts';
