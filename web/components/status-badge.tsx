// Coloured status pills for runs (running/finished/crashed) and cells (ok/error/aborted).

/** What a run's status says about its kernel (the badge's tooltip). */
export const RUN_STATUS_HINTS: Record<string, string> = {
  running: 'Its kernel is alive, or was recently heard from',
  finished: 'Its kernel shut down, capture was paused or switched off, or nothing was heard from it for a day',
  crashed: 'Its kernel died (killed, out of memory) or stopped answering: ended at its last sign of life',
};

export function StatusBadge({ status, label, title }: { status: string; label?: string; title?: string }) {
  return (
    <span className={`badge badge-${status}`} data-status={status} title={title}>
      {label ?? status}
    </span>
  );
}
