// API tokens the JupyterLab extension and kernel use. Only a SHA-256 of the token is kept:
// tokens are 256-bit random strings, so a fast hash is safe (unlike passwords).
import { index, pgTable, text } from 'drizzle-orm/pg-core';
import { users } from './auth.ts';
import { id, timestamps, tstz } from './columns.ts';

export const apiTokens = pgTable(
  'api_tokens',
  {
    id: id(),
    userId: text('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    /** hex SHA-256 of the full token */
    tokenHash: text('token_hash').notNull().unique(),
    /** first characters of the token, shown in lists so people can tell tokens apart */
    prefix: text('prefix').notNull(),
    lastUsedAt: tstz('last_used_at'),
    revokedAt: tstz('revoked_at'),
    ...timestamps,
  },
  (t) => [index('api_tokens_user_id_idx').on(t.userId)],
);
