// One colour per run, by its place in the selection, so a run keeps its colour on every chart
// of a page. Ten well-separated hues first, then golden-angle hues for the rest.
const PALETTE = ['#4f46e5', '#e11d48', '#059669', '#d97706', '#0891b2', '#9333ea', '#65a30d', '#db2777', '#2563eb', '#78716c'];

export function runColor(index: number): string {
  if (index < PALETTE.length) return PALETTE[index]!;
  const hue = Math.round((index * 137.508) % 360);
  return `hsl(${hue} 65% 45%)`;
}

/** The same colour, see-through: `#rrggbb` or `hsl(h s l)` with alpha. */
export function withAlpha(color: string, alpha: number): string {
  if (color.startsWith('#') && color.length === 7) {
    const [r, g, b] = [1, 3, 5].map((i) => Number.parseInt(color.slice(i, i + 2), 16));
    return `rgba(${r}, ${g}, ${b}, ${alpha})`;
  }
  if (color.startsWith('hsl(') && color.endsWith(')')) return `${color.slice(0, -1)} / ${alpha})`;
  return color;
}
