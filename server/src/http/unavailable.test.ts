import { describe, expect, it } from 'vitest';
import { isStorageUnavailable } from './unavailable.ts';

const wrapped = (cause: unknown) => Object.assign(new Error('Failed query: insert into metric_points …'), { cause });

describe('isStorageUnavailable', () => {
  it.each([
    ['postgres.js lost its connection', Object.assign(new Error('write CONNECTION_CLOSED'), { code: 'CONNECTION_CLOSED' })],
    ['Postgres refused the connection', Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })],
    ['Postgres is shutting down (57P01), wrapped by drizzle', wrapped(Object.assign(new Error('terminating connection'), { code: '57P01' }))],
    ['Postgres disk full (53100)', wrapped(Object.assign(new Error('could not extend file'), { code: '53100' }))],
    ['the blob store disk full', Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' })],
    ['PGlite on a full disk', wrapped(new Error('could not write block 12: No space left on device'))],
    ['PGlite closed', new Error('PGlite is closed')],
  ])('%s: yes', (_, error) => expect(isStorageUnavailable(error)).toBe(true));

  it.each([
    ['a constraint violation', wrapped(Object.assign(new Error('duplicate key'), { code: '23505' }))],
    ['a bug', new TypeError("Cannot read properties of undefined (reading 'id')")],
    ['not an error', 'CONNECTION_CLOSED'],
  ])('%s: no', (_, error) => expect(isStorageUnavailable(error)).toBe(false));
});
