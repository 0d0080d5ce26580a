// A bulk enable/disable as the Users screen runs it: the states of one job (starting, running with
// its progress, cancelling, and how it ended) and the words and bar the dialog shows for each.
// Pure functions of the events, so that the order in which the page hears them cannot confuse it.
import type { BulkProgress } from "../bindings/BulkProgress";
import type { BulkReport } from "../bindings/BulkReport";

export type BulkRun =
  /** Asked; the core is still finding the rows (no total yet). */
  | { phase: "starting"; job: string; enable: boolean }
  | { phase: "running"; job: string; enable: boolean; done: number; total: number }
  /** Cancel was asked; the core stops at its next row and rolls everything back. */
  | { phase: "cancelling"; job: string; enable: boolean; done: number; total: number | null }
  | { phase: "done"; job: string; enable: boolean; report: BulkReport }
  /** Rolled back on request: nothing was changed. */
  | { phase: "cancelled"; job: string; enable: boolean }
  /** Refused or failed: nothing was changed either (the command is one transaction). */
  | { phase: "failed"; job: string; enable: boolean; error: unknown };

/** A name for a new job, unique in this window (the page's events and its cancel name it). */
export function jobName(now: number = Date.now(), random: number = Math.random()): string {
  return `bulk-${now.toString(36)}-${random.toString(36).slice(2, 10)}`;
}

export function started(job: string, enable: boolean): BulkRun {
  return { phase: "starting", job, enable };
}

/** Whether the job still runs (the dialog offers Cancel, and closing it means cancelling). */
export function isRunning(run: BulkRun | null): boolean {
  return run !== null && (run.phase === "starting" || run.phase === "running" || run.phase === "cancelling");
}

/** The job after a progress event: events of other jobs, late ones and those after the end change nothing. */
export function progressed(run: BulkRun, p: BulkProgress): BulkRun {
  if (p.job !== run.job) return run;
  switch (run.phase) {
    case "starting":
      return { ...run, phase: "running", done: p.done, total: p.total };
    case "running":
      return p.done >= run.done ? { ...run, done: p.done, total: p.total } : run;
    case "cancelling":
      return p.done >= run.done ? { ...run, done: p.done, total: p.total } : run;
    case "done":
    case "cancelled":
    case "failed":
      return run;
  }
}

/** The job once Cancel was pressed; only a running job can be cancelled. */
export function cancelRequested(run: BulkRun): BulkRun {
  switch (run.phase) {
    case "starting":
      return { ...run, phase: "cancelling", done: 0, total: null };
    case "running":
      return { ...run, phase: "cancelling" };
    case "cancelling":
    case "done":
    case "cancelled":
    case "failed":
      return run;
  }
}

/**
 * The job once the command answered. A report means it ran to the end (a cancel pressed too late
 * changes nothing: the command committed). A `cancelled` conflict means it rolled back.
 */
export function finished(run: BulkRun, answer: { report: BulkReport } | { error: unknown }): BulkRun {
  const base = { job: run.job, enable: run.enable };
  if ("report" in answer) return { ...base, phase: "done", report: answer.report };
  const e = answer.error as { code?: string; reason?: string | null } | null;
  if (e && e.code === "conflict" && e.reason === "cancelled") return { ...base, phase: "cancelled" };
  return { ...base, phase: "failed", error: answer.error };
}

/** How full the bar is, 0 to 1; null while the total is not known (the bar then just moves). */
export function fraction(run: BulkRun): number | null {
  switch (run.phase) {
    case "running":
    case "cancelling":
      if (run.total === null) return null;
      return run.total === 0 ? 1 : Math.min(1, run.done / run.total);
    case "done":
      return 1;
    case "starting":
    case "cancelled":
    case "failed":
      return null;
  }
}

/** The sentence beside the bar. */
export function progressText(run: BulkRun): string {
  const verb = run.enable ? "enable" : "disable";
  switch (run.phase) {
    case "starting":
      return "Finding the matching members…";
    case "running":
      return `${run.enable ? "Enabling" : "Disabling"}: ${run.done.toLocaleString("en")} of ${run.total.toLocaleString("en")} members checked`;
    case "cancelling":
      return "Cancelling: undoing what was done so far…";
    case "done":
      return `Done: ${run.report.changed.toLocaleString("en")} ${verb}d.`;
    case "cancelled":
      return `Cancelled. Nothing was changed: no member was ${verb}d.`;
    case "failed":
      return `Nothing was changed: no member was ${verb}d.`;
  }
}
