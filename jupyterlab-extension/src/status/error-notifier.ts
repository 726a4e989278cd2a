// Decides when an error deserves a notification: on each change to a new error,
// never again for the same error while it persists.
import type { CellmarkError } from '../request';

export class ErrorNotifier {
  private lastKey: string | null = null;

  constructor(private readonly notify: (error: CellmarkError) => void) {}

  update(error: CellmarkError | null): void {
    const key = error ? `${error.kind}\u0000${error.message}` : null;
    if (key !== this.lastKey) {
      this.lastKey = key;
      if (error) {
        this.notify(error);
      }
    }
  }
}
