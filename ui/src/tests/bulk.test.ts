import { describe, expect, it } from "vitest";
import { jobName, started, progressed, cancelRequested, finished, isRunning, fraction, progressText, type BulkRun } from "../lib/bulk";
import { COUNT_LIMIT, countText, countTitle, isEstimate } from "../lib/members";
import { PageStarts, pagesKnown, rangeLabel } from "../lib/pages";
import type { BulkReport } from "../bindings/BulkReport";
import { ApiError } from "../api/errors";

const report: BulkReport = { rows: [], changed: 3312, skipped: 1 };
const p = (done: number, total: number, job = "j1") => ({ job, done, total });

describe("a bulk job's progress", () => {
  it("goes from starting to running with the total, and counts up", () => {
    let run: BulkRun = started("j1", false);
    expect(isRunning(run)).toBe(true);
    expect(fraction(run)).toBeNull();
    expect(progressText(run)).toBe("Finding the matching members…");
    run = progressed(run, p(0, 3313));
    expect(run).toMatchObject({ phase: "running", done: 0, total: 3313 });
    run = progressed(run, p(1200, 3313));
    expect(fraction(run)).toBeCloseTo(1200 / 3313);
    expect(progressText(run)).toBe("Disabling: 1,200 of 3,313 members checked");
  });

  it("ignores other jobs' events and late ones", () => {
    let run = progressed(started("j1", true), p(500, 1000));
    expect(progressed(run, p(900, 1000, "j0"))).toBe(run);
    expect(progressed(run, p(400, 1000))).toBe(run);
    run = finished(run, { report });
    expect(progressed(run, p(1000, 1000))).toBe(run);
    expect(fraction(run)).toBe(1);
  });

  it("cancels only while running, keeps counting while cancelling, and ends cancelled on the core's answer", () => {
    let run = progressed(started("j1", false), p(10, 100));
    run = cancelRequested(run);
    expect(run.phase).toBe("cancelling");
    expect(isRunning(run)).toBe(true);
    expect(progressText(run)).toBe("Cancelling: undoing what was done so far…");
    expect(cancelRequested(run)).toBe(run);
    run = progressed(run, p(11, 100));
    expect(run).toMatchObject({ phase: "cancelling", done: 11 });
    run = finished(run, { error: { code: "conflict", reason: "cancelled", message: "cancelled; nothing was changed" } });
    expect(run.phase).toBe("cancelled");
    expect(isRunning(run)).toBe(false);
    expect(progressText(run)).toBe("Cancelled. Nothing was changed: no member was disabled.");
    expect(cancelRequested(run)).toBe(run);
  });

  it("knows the cancel in the error the api throws", () => {
    const error = ApiError.from({ code: "conflict", reason: "cancelled", message: "cancelled; nothing was changed" });
    expect(finished(started("j1", true), { error }).phase).toBe("cancelled");
  });

  it("can be cancelled before the core told the total", () => {
    const run = cancelRequested(started("j1", true));
    expect(run).toMatchObject({ phase: "cancelling", done: 0, total: null });
    expect(fraction(run)).toBeNull();
  });

  it("a cancel too late changes nothing: the report of the whole command wins", () => {
    const run = finished(cancelRequested(progressed(started("j1", false), p(100, 100))), { report });
    expect(run.phase).toBe("done");
    expect(progressText(run)).toBe("Done: 3,312 disabled.");
  });

  it("any other refusal is a failure, and says nothing was changed", () => {
    const error = { code: "conflict", reason: "last_owner", message: "x" };
    const run = finished(started("j1", false), { error });
    expect(run).toMatchObject({ phase: "failed", error });
    expect(progressText(run)).toBe("Nothing was changed: no member was disabled.");
    expect(finished(started("j1", true), { error: "boom" }).phase).toBe("failed");
  });

  it("a finished job with no rows is full", () => {
    expect(fraction(progressed(started("j1", false), p(0, 0)))).toBe(1);
  });

  it("names each job apart", () => {
    expect(jobName(1, 0.5)).not.toBe(jobName(1, 0.25));
    expect(jobName()).toMatch(/^bulk-[0-9a-z]+-[0-9a-z]+$/);
    expect(jobName().length).toBeLessThanOrEqual(100);
  });
});

describe("estimated counts", () => {
  it("shows a lower bound as 1,000+ and an exact count as itself", () => {
    expect(countText(1000, true)).toBe("1,000+");
    expect(countText(1000, false)).toBe("1,000");
    expect(countText(0, false)).toBe("0");
    expect(COUNT_LIMIT).toBe(1000);
  });

  it("knows which counts are estimates from the page", () => {
    const page = { estimated: ["active", "total"] };
    expect(isEstimate(page, "active")).toBe(true);
    expect(isEstimate(page, "total")).toBe(true);
    expect(isEstimate(page, "disabled")).toBe(false);
    expect(isEstimate({}, "active")).toBe(false);
    expect(isEstimate(null, "total")).toBe(false);
  });

  it("says on the badge whether it is an estimate, and that a click lists exactly", () => {
    expect(countTitle("Active", 1000, true)).toBe(
      "Active: at least 1,000 (an estimate: counting stops there to keep the list fast). Click to list exactly them.",
    );
    expect(countTitle("Active", 12, false)).toBe("Active: exactly 12. Click to list them.");
  });

  it("pages past a lower bound forwards, one page at a time", () => {
    expect(rangeLabel(1, 25, 1000, true, 25)).toBe("1–25 of 1,000+");
    expect(rangeLabel(41, 25, 1000, true, 25)).toBe("1,001–1,025 of 1,025+");
    expect(rangeLabel(42, 25, 1000, true, 7)).toBe("1,026–1,032 of 1,032");
    expect(rangeLabel(1, 25, 1000, false)).toBe("1–25 of 1,000");
    expect(pagesKnown(1, 25, 1000, true, 25)).toBe(40);
    expect(pagesKnown(40, 25, 1000, true, 25)).toBe(41);
    expect(pagesKnown(41, 25, 1000, true, 25)).toBe(42);
    expect(pagesKnown(42, 25, 1000, true, 7)).toBe(42);
    expect(pagesKnown(1, 25, 1000, false, 25)).toBe(40);
  });

  it("walks Next and Previous by the `next` of the page before, and jumps ahead by the number", () => {
    const starts = new PageStarts();
    const q = JSON.stringify([{ search: "a" }, "name", false, 25]);
    expect(starts.after(q, 1)).toBeNull();
    starts.loaded(q, 1, "k25");
    expect(starts.after(q, 2)).toBe("k25");
    starts.loaded(q, 2, "k50");
    expect(starts.after(q, 3)).toBe("k50");
    // Back: page 2 starts where it did, page 1 at the top.
    expect(starts.after(q, 2)).toBe("k25");
    expect(starts.after(q, 1)).toBeNull();
    // A page not walked to yet goes by its number (OFFSET).
    expect(starts.after(q, 40)).toBeNull();
    // A short last page has no `next`: the start after it is forgotten.
    starts.loaded(q, 2, undefined);
    expect(starts.after(q, 3)).toBeNull();
    // Another query (here: the page size) starts afresh, and a late answer to the old one is ignored.
    const q2 = JSON.stringify([{ search: "a" }, "name", false, 50]);
    expect(starts.after(q2, 2)).toBeNull();
    starts.loaded(q, 1, "k25");
    expect(starts.after(q2, 2)).toBeNull();
  });
});
