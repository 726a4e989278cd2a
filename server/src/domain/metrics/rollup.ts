// The rollup maths, in one place: the buckets of every level for a set of newly stored
// points (level 1 from the points, each further level from the one below, 8 buckets each),
// and how a stored bucket absorbs a new one. min/max/sum cover finite values only; `last` is
// the value at the greatest step (NaN and ±Infinity included); sums saturate at ±Number.MAX_VALUE.
import { ROLLUP_BASE, ROLLUP_LEVELS } from './levels.ts';

export interface RollupPoint {
  keyId: number;
  step: number;
  /** NaN and ±Infinity allowed */
  value: number;
  /** epoch ms */
  time: number;
}

export interface Bucket {
  keyId: number;
  level: number;
  bucket: number;
  count: number;
  finiteCount: number;
  min: number | null;
  max: number | null;
  sum: number | null;
  last: number;
  lastStep: number;
  firstTime: number;
  lastTime: number;
}

/** Every level's buckets for these points (each (key, step) at most once). */
export function rollupsOf(points: RollupPoint[]): Bucket[] {
  const byKey = new Map<number, RollupPoint[]>();
  for (const p of points) {
    const list = byKey.get(p.keyId);
    if (list) list.push(p);
    else byKey.set(p.keyId, [p]);
  }
  const out: Bucket[] = [];
  for (const [keyId, list] of byKey) {
    if (!isSorted(list)) list.sort((a, b) => a.step - b.step);
    let level = levelOne(keyId, list);
    out.push(...level);
    for (const next of ROLLUP_LEVELS.slice(1)) {
      level = coarsen(level, next);
      out.push(...level);
    }
  }
  return out;
}

function isSorted(list: RollupPoint[]) {
  for (let i = 1; i < list.length; i++) if (list[i]!.step < list[i - 1]!.step) return false;
  return true;
}

function levelOne(keyId: number, points: RollupPoint[]): Bucket[] {
  const level = ROLLUP_LEVELS[0]!;
  const out: Bucket[] = [];
  let b: Bucket | undefined;
  for (const p of points) {
    const bucket = Math.floor(p.step / ROLLUP_BASE);
    if (!b || b.bucket !== bucket) {
      b = {
        keyId,
        level,
        bucket,
        count: 0,
        finiteCount: 0,
        min: null,
        max: null,
        sum: null,
        last: p.value,
        lastStep: p.step,
        firstTime: p.time,
        lastTime: p.time,
      };
      out.push(b);
    }
    b.count++;
    if (Number.isFinite(p.value)) {
      b.finiteCount++;
      b.min = b.min === null || p.value < b.min ? p.value : b.min;
      b.max = b.max === null || p.value > b.max ? p.value : b.max;
      b.sum = saturate((b.sum ?? 0) + p.value);
    }
    b.last = p.value; // points are in step order
    b.lastStep = p.step;
    if (p.time < b.firstTime) b.firstTime = p.time;
    if (p.time > b.lastTime) b.lastTime = p.time;
  }
  return out;
}

function coarsen(finer: Bucket[], level: number): Bucket[] {
  const out: Bucket[] = [];
  let b: Bucket | undefined;
  for (const f of finer) {
    const bucket = Math.floor(f.bucket / ROLLUP_BASE);
    if (!b || b.bucket !== bucket) {
      b = { ...f, level, bucket, count: 0, finiteCount: 0, min: null, max: null, sum: null };
      out.push(b);
    }
    absorb(b, f);
  }
  return out;
}

/** Sums saturate at the largest finite double instead of overflowing to Infinity. */
const saturate = (sum: number) => Math.min(Number.MAX_VALUE, Math.max(-Number.MAX_VALUE, sum));

/** Folds `more` into `into` (same key, level and bucket). */
export function absorb(into: Bucket, more: Bucket): void {
  into.count += more.count;
  into.finiteCount += more.finiteCount;
  if (more.min !== null) into.min = into.min === null || more.min < into.min ? more.min : into.min;
  if (more.max !== null) into.max = into.max === null || more.max > into.max ? more.max : into.max;
  if (more.sum !== null) into.sum = saturate((into.sum ?? 0) + more.sum);
  if (more.lastStep >= into.lastStep) {
    into.last = more.last;
    into.lastStep = more.lastStep;
  }
  if (more.firstTime < into.firstTime) into.firstTime = more.firstTime;
  if (more.lastTime > into.lastTime) into.lastTime = more.lastTime;
}
