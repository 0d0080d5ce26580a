// Access expiry in forms: <input type="datetime-local"> speaks local wall-clock time without a zone;
// the commands take RFC 3339 in UTC.

/** "2026-11-23T18:30" (local) → "2026-11-23T17:30:00Z"; empty → null; invalid → undefined. */
export function localInputToRfc3339(value: string): string | null | undefined {
  const v = value.trim();
  if (!v) return null;
  const d = new Date(v);
  if (Number.isNaN(d.getTime())) return undefined;
  return d.toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** RFC 3339 → the value a datetime-local input shows, in local time. */
export function rfc3339ToLocalInput(rfc3339: string | null | undefined): string {
  if (!rfc3339) return "";
  const d = new Date(rfc3339);
  if (Number.isNaN(d.getTime())) return "";
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** Quick choices offered beside the picker, as durations the core understands. */
export const EXPIRY_PRESETS: { label: string; value: string }[] = [
  { label: "1 day", value: "1d" },
  { label: "7 days", value: "7d" },
  { label: "30 days", value: "30d" },
  { label: "90 days", value: "90d" },
];

/** An RFC 3339 moment `seconds` from `now`, to the second. */
export function inSeconds(seconds: number, now: Date = new Date()): string {
  return new Date(now.getTime() + seconds * 1000).toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** Whether a chosen expiry lies in the past (the core refuses it; the form says so first). */
export function isPast(rfc3339: string | null, now: Date = new Date()): boolean {
  return rfc3339 !== null && new Date(rfc3339).getTime() <= now.getTime();
}
