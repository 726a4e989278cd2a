// API tokens for the JupyterLab extension and the kernel: created (shown once), listed,
// revoked, and resolved to a user on every ingest request.
import { createHash, randomBytes } from 'node:crypto';
import { and, apiTokens, type Db, desc, eq, isNull, users } from '@cellmark/db';
import { DomainError } from './errors.ts';
import type { Actor } from './policy.ts';

const PREFIX = 'cm_';

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export async function createToken(db: Db, actor: Actor, name: string) {
  if (actor.via !== 'session') throw new DomainError('FORBIDDEN', 'API tokens can only be created from a signed-in browser session');
  const token = PREFIX + randomBytes(32).toString('base64url');
  const [row] = await db
    .insert(apiTokens)
    .values({ userId: actor.userId, name, tokenHash: hashToken(token), prefix: token.slice(0, 10) })
    .returning({ id: apiTokens.id, name: apiTokens.name, prefix: apiTokens.prefix, createdAt: apiTokens.createdAt });
  return { ...row!, token };
}

export async function listTokens(db: Db, actor: Actor) {
  return db
    .select({
      id: apiTokens.id,
      name: apiTokens.name,
      prefix: apiTokens.prefix,
      createdAt: apiTokens.createdAt,
      lastUsedAt: apiTokens.lastUsedAt,
      revokedAt: apiTokens.revokedAt,
    })
    .from(apiTokens)
    .where(eq(apiTokens.userId, actor.userId))
    .orderBy(desc(apiTokens.createdAt));
}

export async function revokeToken(db: Db, actor: Actor, tokenId: string) {
  const [row] = await db
    .update(apiTokens)
    .set({ revokedAt: new Date() })
    .where(and(eq(apiTokens.id, tokenId), eq(apiTokens.userId, actor.userId), isNull(apiTokens.revokedAt)))
    .returning({ id: apiTokens.id });
  if (!row) throw new DomainError('NOT_FOUND', 'no such active token');
  return row;
}

/** Resolves a bearer token to its user. Throws UNAUTHORIZED with the reason. */
export async function authenticateToken(db: Db, token: string): Promise<{ actor: Actor; user: { id: string; name: string; email: string } }> {
  if (!token.startsWith(PREFIX)) throw new DomainError('UNAUTHORIZED', 'API token is malformed (Cellmark tokens start with "cm_")');
  const [row] = await db
    .select({
      id: apiTokens.id,
      revokedAt: apiTokens.revokedAt,
      lastUsedAt: apiTokens.lastUsedAt,
      user: { id: users.id, name: users.name, email: users.email },
    })
    .from(apiTokens)
    .innerJoin(users, eq(users.id, apiTokens.userId))
    .where(eq(apiTokens.tokenHash, hashToken(token)));
  if (!row) throw new DomainError('UNAUTHORIZED', 'API token is not known to this server');
  if (row.revokedAt) throw new DomainError('UNAUTHORIZED', 'API token has been revoked');
  // Touch at most once a minute: ingest calls arrive many times a second.
  if (!row.lastUsedAt || Date.now() - row.lastUsedAt.getTime() > 60_000) {
    await db.update(apiTokens).set({ lastUsedAt: new Date() }).where(eq(apiTokens.id, row.id));
  }
  return { actor: { userId: row.user.id, via: 'token' }, user: row.user };
}
