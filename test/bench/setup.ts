// Shared bench scaffolding: a throwaway database on the Postgres in DATABASE_URL, a user, a
// project and runs created through the domain layer (the same code the API calls).
import { randomBytes } from 'node:crypto';
import { createDb, type Database, users } from '@cellmark/db';
import postgres from 'postgres';
import { createWorkspace } from '../../server/src/domain/onboarding.ts';
import type { Actor } from '../../server/src/domain/policy.ts';
import { startRun } from '../../server/src/domain/runs.ts';

/** A throwaway database; `drop` removes it, `keep` only closes the connections (KEEP=1). */
export async function benchDatabase(): Promise<{ database: Database; url: string; drop: () => Promise<void>; keep: () => Promise<void> }> {
  const base = process.env.DATABASE_URL;
  if (!base) throw new Error('benchmarks run on a real Postgres: set DATABASE_URL (e.g. the one .ci/run starts)');
  const name = `cellmark_bench_${randomBytes(4).toString('hex')}`;
  const admin = postgres(base, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  const url = new URL(base);
  url.pathname = `/${name}`;
  const database = await createDb({ url: url.toString(), max: 8 });
  return {
    database,
    url: url.toString(),
    drop: async () => {
      await database.close();
      await admin.unsafe(`drop database if exists ${name} with (force)`);
      await admin.end();
    },
    keep: async () => {
      await database.close();
      await admin.end();
    },
  };
}

export async function benchProject(database: Database) {
  await database.db.insert(users).values({ id: 'bench', name: 'Bench', email: 'bench@example.test' });
  const actor: Actor = { userId: 'bench', via: 'token' };
  const { team, project } = await createWorkspace(database.db, { ...actor, via: 'session' }, { teamName: 'Bench', projectName: 'Bench' });
  const newRun = async (i: number) =>
    (
      await startRun(database.db, actor, {
        project: `${team.slug}/${project.slug}`,
        clientKey: `bench-run-${i}`,
        notebookPath: `bench/${i % 7}.ipynb`,
        startedAt: new Date(Date.now() - i * 1000),
      })
    ).runId;
  return { actor, projectId: project.id, newRun };
}

export function percentiles(samples: number[]) {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
  return { p50: at(50), p99: at(99), n: sorted.length };
}

export const ms = (n: number) => `${n.toFixed(1)} ms`;

export function intEnv(name: string, fallback: number): number {
  const v = process.env[name];
  return v ? Number(v) : fallback;
}
