// What a person types for a run's name or tags, as ingest.updateRun takes it
// (name 1–200 characters; tags 1–64 characters each, at most 50). The limits are the
// server's (server/src/wire.ts), held here so the bundle carries no zod;
// test/integration/wire-limits.test.ts fails when they differ.

export const MAX_NAME_CHARS = 200;
export const MAX_TAG_CHARS = 64;
export const MAX_TAGS = 50;

/** "a, b ,, a" → ["a", "b"]: trimmed, no empties, no duplicates, each cut to 64 characters, at most 50. */
export function parseTags(text: string): string[] {
  const tags = text
    .split(',')
    .map((t) => t.trim().slice(0, MAX_TAG_CHARS).trim())
    .filter((t) => t.length > 0);
  return [...new Set(tags)].slice(0, MAX_TAGS);
}

/** The name to send, or null when there is nothing to rename to. */
export function parseRunName(text: string | null, current: string): string | null {
  const name = (text ?? '').trim().slice(0, MAX_NAME_CHARS).trim();
  return name && name !== current ? name : null;
}
