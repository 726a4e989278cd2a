// Display formatting: times, durations, terminal text from notebook outputs, and initials.

const rtf = new Intl.RelativeTimeFormat('en', { numeric: 'auto' });

/** "5 minutes ago", "yesterday", or the date for anything older than a month. */
export function relativeTime(iso: string, now: number = Date.now()): string {
  const then = new Date(iso).getTime();
  const seconds = Math.round((then - now) / 1000);
  const abs = Math.abs(seconds);
  if (abs < 45) return 'just now';
  if (abs < 45 * 60) return rtf.format(Math.round(seconds / 60), 'minute');
  if (abs < 22 * 3600) return rtf.format(Math.round(seconds / 3600), 'hour');
  if (abs < 26 * 86400) return rtf.format(Math.round(seconds / 86400), 'day');
  return new Date(iso).toLocaleDateString(undefined, { year: 'numeric', month: 'short', day: 'numeric' });
}

export function exactTime(iso: string): string {
  return new Date(iso).toLocaleString(undefined, {
    year: 'numeric',
    month: 'short',
    day: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    timeZoneName: 'short',
  });
}

/** 840 ms, 1.25 s, 42 s, 3 min 04 s, 2 h 05 min */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 10_000) return `${(ms / 1000).toFixed(2)} s`;
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s} s`;
  const pad = (n: number) => String(n).padStart(2, '0');
  if (s < 3600) return `${Math.floor(s / 60)} min ${pad(s % 60)} s`;
  return `${Math.floor(s / 3600)} h ${pad(Math.floor((s % 3600) / 60))} min`;
}

export function durationBetween(startIso: string, endIso: string): number {
  return new Date(endIso).getTime() - new Date(startIso).getTime();
}

/** A run's length: to its end, or to now while it is still running; null when unknown. */
export function runDurationMs(run: { status: string; startedAt: string; endedAt: string | null }, now: number): number | null {
  if (run.endedAt) return durationBetween(run.startedAt, run.endedAt);
  if (run.status === 'running') return Math.max(0, now - new Date(run.startedAt).getTime());
  return null;
}

// CSI sequences (colours, cursor moves) and OSC sequences (titles, links) as IPython emits them.
// biome-ignore lint/suspicious/noControlCharactersInRegex: ESC and BEL are what terminal sequences are made of
const ANSI = /\u001b\[[0-?]*[ -/]*[@-~]|\u001b\][^\u0007\u001b]*(?:\u0007|\u001b\\)|\u001b[@-Z\\-_]/g;

export function stripAnsi(text: string): string {
  return text.replace(ANSI, '');
}

/** What a terminal would show: "\r" returns to the line start (progress bars overwrite themselves). */
export function applyCarriageReturns(text: string): string {
  return text
    .replace(/\r\n/g, '\n')
    .split('\n')
    .map((line) => {
      if (!line.includes('\r')) return line;
      // Each \r rewinds; later text overwrites earlier text character by character.
      let shown = '';
      for (const part of line.split('\r')) shown = part + shown.slice(part.length);
      return shown;
    })
    .join('\n');
}

export function terminalText(text: string): string {
  return applyCarriageReturns(stripAnsi(text));
}

/** nbformat allows multi-line strings as arrays of lines. */
export function joinText(value: unknown): string | null {
  if (typeof value === 'string') return value;
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value.join('');
  return null;
}

/** A person's initials for an avatar, the same everywhere: "Ada Lovelace" → "AL", "bob" → "BO". */
export function initials(name: string): string {
  const parts = name.trim().split(/\s+/).filter(Boolean);
  if (parts.length === 0) return '?';
  return (parts.length === 1 ? parts[0]!.slice(0, 2) : parts[0]![0]! + parts[parts.length - 1]![0]!).toUpperCase();
}
