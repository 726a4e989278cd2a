// Where a cell is in its notebook, by nbformat cell id: the `position` of an
// execution is the cell's index when its execute_request was sent.

/** The parts of a cell list position lookup needs (INotebookModel.cells fits). */
export interface ICellListLike {
  readonly length: number;
  get(index: number): { readonly id: string } | undefined;
}

/** Index of the cell with nbformat id `cellId`, or null. */
export function findCellPosition(cells: ICellListLike | null | undefined, cellId: string | null): number | null {
  if (!cells || cellId === null) {
    return null;
  }
  for (let i = 0; i < cells.length; i++) {
    if (cells.get(i)?.id === cellId) {
      return i;
    }
  }
  return null;
}
