// drizzle-kit configuration: `npm run db:generate -- --name <what_changed>` writes a new
// reviewed-and-committed migration into ./migrations. Never `push`.
import { defineConfig } from 'drizzle-kit';

export default defineConfig({
  dialect: 'postgresql',
  schema: './src/schema/index.ts',
  out: './migrations',
});
