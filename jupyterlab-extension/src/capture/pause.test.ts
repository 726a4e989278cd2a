import { describe, expect, it } from 'vitest';
import { findCellPosition } from './cell-position';
import { isAutoConfigOff, isCapturePaused, METADATA_KEY, readAutoConfig, readPaused, setPaused, withCapturePaused } from './pause';

class Model {
  readonly metadata: Record<string, unknown> = {};
  getMetadata(key: string): unknown {
    return this.metadata[key];
  }
  setMetadata(key: string, value: unknown): void {
    this.metadata[key] = value;
  }
  deleteMetadata(key: string): void {
    delete this.metadata[key];
  }
}

describe('per-notebook pause metadata', () => {
  it('is paused only by capture: false', () => {
    expect(isCapturePaused({ capture: false })).toBe(true);
    expect(isCapturePaused({ capture: true })).toBe(false);
    expect(isCapturePaused({})).toBe(false);
    expect(isCapturePaused(undefined)).toBe(false);
    expect(isCapturePaused('off')).toBe(false);
  });

  it('turns automatic config off only by autoConfig: false', () => {
    expect(isAutoConfigOff({ autoConfig: false })).toBe(true);
    expect(isAutoConfigOff({ autoConfig: true, capture: false })).toBe(false);
    expect(isAutoConfigOff(undefined)).toBe(false);
    const model = new Model();
    expect(readAutoConfig(model)).toBe(true);
    model.setMetadata(METADATA_KEY, { autoConfig: false });
    expect(readAutoConfig(model)).toBe(false);
  });

  it('pauses by setting capture: false and keeps other cellmark keys', () => {
    expect(withCapturePaused(undefined, true)).toEqual({ capture: false });
    expect(withCapturePaused({ team: 'x' }, true)).toEqual({ team: 'x', capture: false });
  });

  it('resumes by removing capture, and the key when nothing else is left', () => {
    expect(withCapturePaused({ capture: false }, false)).toBeUndefined();
    expect(withCapturePaused({ capture: false, team: 'x' }, false)).toEqual({ team: 'x' });
  });

  it('round-trips on a notebook model, leaving no trace after resume', () => {
    const model = new Model();
    model.setMetadata('kernelspec', { name: 'python3' });
    setPaused(model, true);
    expect(model.metadata[METADATA_KEY]).toEqual({ capture: false });
    expect(readPaused(model)).toBe(true);
    setPaused(model, false);
    expect(readPaused(model)).toBe(false);
    expect(model.metadata).toEqual({ kernelspec: { name: 'python3' } });
  });

  it('never writes anything but the capture flag (no token, no run id)', () => {
    const model = new Model();
    setPaused(model, true);
    expect(JSON.stringify(model.metadata)).toBe('{"cellmark":{"capture":false}}');
  });
});

describe('findCellPosition', () => {
  const cells = (ids: string[]) => ({ length: ids.length, get: (i: number) => (ids[i] === undefined ? undefined : { id: ids[i] as string }) });

  it('finds the index of the cell by nbformat id', () => {
    expect(findCellPosition(cells(['a', 'b', 'c']), 'c')).toBe(2);
    expect(findCellPosition(cells(['a', 'b', 'c']), 'a')).toBe(0);
  });

  it('is null for an unknown or missing id, or no notebook', () => {
    expect(findCellPosition(cells(['a']), 'zzz')).toBeNull();
    expect(findCellPosition(cells(['a']), null)).toBeNull();
    expect(findCellPosition(null, 'a')).toBeNull();
  });
});
