// Terminal text with its colours, as spans: never HTML from the output.
import { type CSSProperties, useMemo } from 'react';
import { ansiSegments } from '@/lib/ansi.ts';
import './cells.css';

const isCss = (colour: string) => colour.startsWith('rgb(');

export function AnsiText({ text }: { text: string }) {
  const segments = useMemo(() => ansiSegments(text), [text]);
  return (
    <>
      {segments.map((s, i) => {
        if (!s.fg && !s.bg && !s.bold && !s.italic && !s.underline) return s.text;
        const classes = [
          s.fg && !isCss(s.fg) ? `ansi-fg-${s.fg}` : '',
          s.bg && !isCss(s.bg) ? `ansi-bg-${s.bg}` : '',
          s.bold ? 'ansi-bold' : '',
          s.italic ? 'ansi-italic' : '',
          s.underline ? 'ansi-underline' : '',
        ].filter(Boolean);
        const style: CSSProperties = {};
        if (s.fg && isCss(s.fg)) style.color = s.fg;
        if (s.bg && isCss(s.bg)) style.backgroundColor = s.bg;
        return (
          // biome-ignore lint/suspicious/noArrayIndexKey: the segments of one output's text, recomputed whole: a segment is its position
          <span key={i} className={classes.join(' ') || undefined} style={style}>
            {s.text}
          </span>
        );
      })}
    </>
  );
}
