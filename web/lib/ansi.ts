// Terminal colours (SGR escape codes) in tracebacks and streams, turned into styled text
// segments that React renders as spans: colour without ever handing HTML to the page.
import { applyCarriageReturns, stripAnsi } from './format.ts';

export interface AnsiSegment {
  text: string;
  /** a palette name ("red", "bright-green") or a CSS colour for 256/true colour */
  fg?: string;
  bg?: string;
  bold?: boolean;
  italic?: boolean;
  underline?: boolean;
}

const NAMES = ['black', 'red', 'green', 'yellow', 'blue', 'magenta', 'cyan', 'white'];
const CUBE = [0, 95, 135, 175, 215, 255];

/** xterm's 256-colour palette: 16 named, a 6×6×6 cube, then 24 greys. */
function color256(n: number): string | undefined {
  if (!Number.isInteger(n) || n < 0 || n > 255) return undefined;
  if (n < 8) return NAMES[n];
  if (n < 16) return `bright-${NAMES[n - 8]}`;
  if (n < 232) {
    const i = n - 16;
    return `rgb(${CUBE[Math.floor(i / 36)]}, ${CUBE[Math.floor(i / 6) % 6]}, ${CUBE[i % 6]})`;
  }
  const grey = 8 + (n - 232) * 10;
  return `rgb(${grey}, ${grey}, ${grey})`;
}

type Style = Omit<AnsiSegment, 'text'>;

function applySgr(style: Style, params: number[]): Style {
  const next: Style = { ...style };
  for (let i = 0; i < params.length; i++) {
    const p = params[i]!;
    if (p === 0) {
      for (const k of Object.keys(next) as (keyof Style)[]) delete next[k];
    } else if (p === 1) next.bold = true;
    else if (p === 3) next.italic = true;
    else if (p === 4) next.underline = true;
    else if (p === 22) delete next.bold;
    else if (p === 23) delete next.italic;
    else if (p === 24) delete next.underline;
    else if (p >= 30 && p <= 37) next.fg = NAMES[p - 30];
    else if (p >= 90 && p <= 97) next.fg = `bright-${NAMES[p - 90]}`;
    else if (p >= 40 && p <= 47) next.bg = NAMES[p - 40];
    else if (p >= 100 && p <= 107) next.bg = `bright-${NAMES[p - 100]}`;
    else if (p === 39) delete next.fg;
    else if (p === 49) delete next.bg;
    else if (p === 38 || p === 48) {
      const target = p === 38 ? 'fg' : 'bg';
      let value: string | undefined;
      if (params[i + 1] === 5) {
        value = color256(params[i + 2]!);
        i += 2;
      } else if (params[i + 1] === 2) {
        const [r, g, b] = params.slice(i + 2, i + 5);
        if ([r, g, b].every((c) => c !== undefined && c >= 0 && c <= 255)) value = `rgb(${r}, ${g}, ${b})`;
        i += 4;
      }
      if (value) next[target] = value;
    }
  }
  return next;
}

// SGR sequences are kept for colour; every other escape sequence is dropped by stripAnsi.
// biome-ignore lint/suspicious/noControlCharactersInRegex: ESC starts every SGR sequence
const SGR = /\u001b\[([0-9;]*)m/g;

/** Text split into styled segments. Text with carriage returns (progress bars) loses colour. */
export function ansiSegments(input: string): AnsiSegment[] {
  if (input.includes('\r')) return [{ text: applyCarriageReturns(stripAnsi(input)) }];
  const segments: AnsiSegment[] = [];
  let style: Style = {};
  let last = 0;
  const push = (raw: string) => {
    const text = stripAnsi(raw);
    if (text) segments.push({ text, ...style });
  };
  for (const match of input.matchAll(SGR)) {
    push(input.slice(last, match.index));
    const params = match[1] ? match[1].split(';').map((p) => (p === '' ? 0 : Number(p))) : [0];
    style = applySgr(style, params);
    last = match.index + match[0].length;
  }
  push(input.slice(last));
  return segments;
}
