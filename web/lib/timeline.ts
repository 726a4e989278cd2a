// How a run's executions relate to the notebook: re-runs of the same cell, cells run above
// the one that ran just before them, and the notebook-order view (executions grouped by cell).
// Pure: the run page renders what these functions return.

/** What this module needs of an execution (runs.get cells, in execution order). */
export interface ExecutionLike {
  executionKey: string;
  cellId: string | null;
  /** index of the cell in the notebook when it ran (frontend capture only) */
  position: number | null;
  startedAt: string;
}

export interface ExecutionNote {
  /** identifies the notebook cell across executions (nbformat cell id, else the execution) */
  cellKey: string;
  /** "cell 3": the cell's notebook position when it ran (1-based), else its id */
  cellLabel: string | null;
  /** 1 the first time this cell ran in the run, 2 for its first re-run, … */
  runNumber: number;
  /** the cell that ran just before and sits further down the notebook */
  ranAfter: { cellLabel: string; executionKey: string } | null;
}

export const cellKeyOf = (e: ExecutionLike) => (e.cellId ? `cell:${e.cellId}` : `exec:${e.executionKey}`);

export function ordinal(n: number): string {
  const tens = n % 100;
  if (tens >= 11 && tens <= 13) return `${n}th`;
  return `${n}${{ 1: 'st', 2: 'nd', 3: 'rd' }[n % 10] ?? 'th'}`;
}

function labelFor(position: number | null, cellId: string | null): string | null {
  if (position !== null) return `cell ${position + 1}`;
  return cellId ? `cell ${cellId.slice(0, 8)}` : null;
}

/**
 * Annotates executions given in execution order. Out of order means: this cell sits above
 * the cell whose execution came right before it (positions as each was when it ran), which is
 * what "ran the notebook top to bottom" would never produce. A re-run of the same cell is a
 * re-run, not out of order.
 */
export function annotateExecutions<E extends ExecutionLike>(executions: readonly E[]): Map<string, ExecutionNote> {
  const notes = new Map<string, ExecutionNote>();
  const runs = new Map<string, number>();
  const lastPosition = new Map<string, number>();
  let previous: { cellKey: string; position: number | null; cellLabel: string | null; executionKey: string } | null = null;
  for (const e of executions) {
    const cellKey = cellKeyOf(e);
    const runNumber = (runs.get(cellKey) ?? 0) + 1;
    runs.set(cellKey, runNumber);
    // kernel-only records have no position; the cell's last known one is the best guess
    const position = e.position ?? lastPosition.get(cellKey) ?? null;
    if (e.position !== null) lastPosition.set(cellKey, e.position);
    const cellLabel = labelFor(position, e.cellId);
    const ranAfter =
      previous && previous.cellKey !== cellKey && e.position !== null && previous.position !== null && e.position < previous.position
        ? { cellLabel: previous.cellLabel ?? 'another cell', executionKey: previous.executionKey }
        : null;
    notes.set(e.executionKey, { cellKey, cellLabel, runNumber, ranAfter });
    previous = { cellKey, position: e.position, cellLabel, executionKey: e.executionKey };
  }
  return notes;
}

export function rerunText(note: ExecutionNote): string | null {
  if (note.runNumber < 2) return null;
  return `re-run of ${note.cellLabel ?? 'this cell'} (${ordinal(note.runNumber)} time)`;
}

export function outOfOrderText(note: ExecutionNote): string | null {
  if (!note.ranAfter) return null;
  return `${note.cellLabel ?? 'this cell'} ran after ${note.ranAfter.cellLabel}`;
}

export interface CellGroup<E> {
  cellKey: string;
  /** the position the cell had in its most recent execution that knew it */
  position: number | null;
  cellLabel: string | null;
  /** in execution order */
  executions: E[];
}

/** Executions grouped by notebook cell, cells ordered by last known position (unknown last). */
export function groupByCell<E extends ExecutionLike>(executions: readonly E[]): CellGroup<E>[] {
  const groups = new Map<string, CellGroup<E> & { firstIndex: number; lastIndex: number }>();
  executions.forEach((e, index) => {
    const cellKey = cellKeyOf(e);
    let group = groups.get(cellKey);
    if (!group) {
      group = { cellKey, position: null, cellLabel: null, executions: [], firstIndex: index, lastIndex: index };
      groups.set(cellKey, group);
    }
    group.executions.push(e);
    group.lastIndex = index;
    if (e.position !== null) group.position = e.position;
    group.cellLabel = labelFor(group.position, e.cellId);
  });
  return [...groups.values()]
    .sort((a, b) => {
      if (a.position !== null && b.position !== null) {
        // two cells can claim one position after moves; the one that ran last holds it now
        return a.position - b.position || b.lastIndex - a.lastIndex;
      }
      if (a.position !== null) return -1;
      if (b.position !== null) return 1;
      return a.firstIndex - b.firstIndex;
    })
    .map(({ firstIndex: _f, lastIndex: _l, ...group }) => group);
}

export interface TimelineSummary {
  executions: number;
  cells: number;
  reruns: number;
  outOfOrder: number;
}

export function summarize(notes: Map<string, ExecutionNote>): TimelineSummary {
  const all = [...notes.values()];
  return {
    executions: all.length,
    cells: new Set(all.map((n) => n.cellKey)).size,
    reruns: all.filter((n) => n.runNumber > 1).length,
    outOfOrder: all.filter((n) => n.ranAfter).length,
  };
}
