// Durations as the CLI writes them: 90d, 12h, 30m, 45s, 2w.
const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };

/** Seconds, or NaN when the text is not a duration. */
export function parseDuration(text: string): number {
  const m = /^\s*(\d+)\s*([smhdw])\s*$/i.exec(text);
  if (!m) return NaN;
  return Number(m[1]) * UNITS[m[2].toLowerCase()];
}

