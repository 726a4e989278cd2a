import { describe, expect, it } from 'vitest';
import { CellmarkError } from '../request';
import { ErrorNotifier } from './error-notifier';

describe('ErrorNotifier', () => {
  it('notifies once per distinct error state, not per retry', () => {
    const seen: string[] = [];
    const notifier = new ErrorNotifier((error) => seen.push(error.message));
    const down = () => new CellmarkError('unreachable', 'Cellmark server unreachable at http://x');

    notifier.update(null);
    notifier.update(down());
    notifier.update(down()); // same failure on the next retry
    notifier.update(down());
    notifier.update(new CellmarkError('unauthorized', 'token rejected (401): revoked', 401));
    notifier.update(null); // fixed
    notifier.update(down()); // broken again: a new state
    expect(seen).toEqual(['Cellmark server unreachable at http://x', 'token rejected (401): revoked', 'Cellmark server unreachable at http://x']);
  });
});
