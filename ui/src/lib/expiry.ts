// Access expiry in forms. A person picks "never", a preset ("in 30 days") or types a date; what the
// commands receive is a duration the core understands ("30d") or an RFC 3339 moment in UTC. A field
// that holds half a date says so instead of quietly holding nothing.
import { parseDuration } from "./duration";

/** Quick choices, as durations the core understands. */
export const EXPIRY_PRESETS: { label: string; value: string }[] = [
  { label: "In 1 day", value: "1d" },
  { label: "In 7 days", value: "7d" },
  { label: "In 30 days", value: "30d" },
  { label: "In 90 days", value: "90d" },
  { label: "In 1 year", value: "365d" },
];

/** "2026-11-23T18:30" (local) → "2026-11-23T17:30:00Z"; empty → null; invalid → undefined. */
export function localInputToRfc3339(value: string): string | null | undefined {
  const v = value.trim();
  if (!v) return null;
  const d = new Date(v);
  if (Number.isNaN(d.getTime())) return undefined;
  return d.toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** RFC 3339 → local wall-clock time as the date field shows it: "2026-11-23 18:30". */
export function rfc3339ToLocalInput(rfc3339: string | null | undefined): string {
  if (!rfc3339) return "";
  const d = new Date(rfc3339);
  if (Number.isNaN(d.getTime())) return "";
  const pad = (n: number) => String(n).padStart(2, "0");
  const time = d.getSeconds() ? `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}` : `${pad(d.getHours())}:${pad(d.getMinutes())}`;
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${time}`;
}

/** An RFC 3339 moment `seconds` from `now`, to the second. */
export function inSeconds(seconds: number, now: Date = new Date()): string {
  return new Date(now.getTime() + seconds * 1000).toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** Whether a chosen expiry lies in the past (the core refuses it; the form says so first). */
export function isPast(rfc3339: string | null, now: Date = new Date()): boolean {
  return rfc3339 !== null && new Date(rfc3339).getTime() <= now.getTime();
}

/**
 * A typed date in local time: "2026-12-31", "2026-12-31 17:00", "2026-12-31T17:00:05", or a
 * duration ("45d"). Returns the RFC 3339 moment, or an error in words.
 */
export function parseTypedExpiry(text: string, now: Date = new Date()): { at: string } | { error: string } | null {
  const v = text.trim();
  if (!v) return null;
  const seconds = parseDuration(v);
  if (!Number.isNaN(seconds)) {
    if (seconds <= 0) return { error: "Choose a moment in the future" };
    return { at: inSeconds(seconds, now) };
  }
  const m = /^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?$/.exec(v);
  if (!m) return { error: "Not a date yet: write it as 2026-12-31 or 2026-12-31 17:00" };
  const [y, mo, d, h, mi, s] = [m[1], m[2], m[3], m[4] ?? "23", m[5] ?? "59", m[6] ?? (m[4] ? "00" : "59")].map(Number);
  const date = new Date(y, mo - 1, d, h, mi, s);
  // new Date() rolls 2026-02-31 over into March: refuse what is not a real day or time.
  if (date.getFullYear() !== y || date.getMonth() !== mo - 1 || date.getDate() !== d || date.getHours() !== h || date.getMinutes() !== mi) {
    return { error: "There is no such day or time" };
  }
  if (date.getTime() <= now.getTime()) return { error: "That moment has passed: choose one in the future" };
  return { at: date.toISOString().replace(/\.\d{3}Z$/, "Z") };
}

/**
 * The value an expiry field holds, for a command: "" (never), a preset duration, or the typed
 * date as RFC 3339. `undefined` while the typed text is not a usable date.
 */
export function expiryValue(choice: string, typed: string, now: Date = new Date()): string | null | undefined {
  if (choice === "") return null;
  if (choice !== "date") return choice;
  const p = parseTypedExpiry(typed, now);
  if (p === null || "error" in p) return undefined;
  return p.at;
}
