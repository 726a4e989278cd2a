// Coloured status pills for runs (running/finished/crashed) and cells (ok/error/aborted).

export function StatusBadge({ status, label }: { status: string; label?: string }) {
  return (
    <span className={`badge badge-${status}`} data-status={status}>
      {label ?? status}
    </span>
  );
}
