// How long the Users screen takes from a person's action to the repainted page, on `demo` data of
// GATEHOUSE_MEASURE_MEMBERS members (100,000 by default): search, sort, paging and opening details.
// Not part of the e2e suite (its name does not end in .test.mjs): run it with
// `scripts/e2e tests/e2e/measure-100k.mjs` (a fresh database; the window is 1280×800).
//
// Each figure is timed inside the page: from the click (or the search box's input event, whose
// 250 ms wait for more typing is part of what a person sees) until the table (or the details
// dialog) shows the new content and two animation frames have passed — the frame with it painted.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { b, start, stop, waitFor, signIn, switchOrg, go, press, gone, cli, DB } from "./lib.mjs";

const OWNER = "olivia@acme.test";
const MEMBERS = Number(process.env.GATEHOUSE_MEASURE_MEMBERS ?? 100000);
const RUNS = 7;

before(async () => {
  assert.ok(DB, "run through scripts/e2e tests/e2e/measure-100k.mjs");
  cli(["init", "--org", "Acme Corp", "--email", OWNER, "--name", "Olivia Owner"]);
  const t0 = Date.now();
  cli(["demo", "--org", "big", "--members", String(MEMBERS)], { as: OWNER });
  console.log(`# demo of ${MEMBERS} members: ${Date.now() - t0} ms`);
  await start();
  await waitFor('input[name="email"]', 20000);
  await signIn(OWNER);
  await switchOrg("big");
  await go("users");
  await waitFor("table.members tbody tr");
});

after(async () => {
  await stop();
});

/**
 * In the page: do `act` to the element `sel`, then wait until `changed()` holds and the list is no
 * longer busy, then two frames. Returns the milliseconds.
 */
async function timed(act, sel, value, until) {
  return b.execute(
    async (act, sel, value, until) => {
      const first = () => document.querySelector("table.members tbody tr")?.getAttribute("data-email") ?? "";
      const busy = () => document.querySelector(".members-wrap")?.getAttribute("aria-busy") === "true";
      const before = first();
      const done =
        until === "dialog"
          ? () => !!document.querySelector('[role="dialog"] dl')
          : () => !busy() && first() !== before && first() !== "";
      const el = document.querySelector(sel);
      const t0 = performance.now();
      if (act === "click") el.click();
      else {
        el.value = value;
        el.dispatchEvent(new Event("input", { bubbles: true }));
      }
      // The DOM is watched on every change (not once a frame), then the next frame is the paint.
      await new Promise((resolve, reject) => {
        if (done()) return resolve();
        const watch = new MutationObserver(() => {
          if (done()) {
            watch.disconnect();
            clearTimeout(limit);
            resolve();
          }
        });
        watch.observe(document.body, { subtree: true, childList: true, attributes: true, characterData: true });
        const limit = setTimeout(() => {
          watch.disconnect();
          reject(new Error(`never changed: ${sel}`));
        }, 20000);
      });
      const dom = performance.now() - t0;
      await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
      return [dom, performance.now() - t0];
    },
    act,
    sel,
    value,
    until,
  );
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const report = (what, xs) => {
  if (Array.isArray(xs[0])) {
    report(`${what}, to the DOM`, xs.map((x) => x[0]));
    return report(`${what}, to the painted frame`, xs.map((x) => x[1]));
  }
  console.log(`# ${what}: median ${median(xs).toFixed(0)} ms (runs: ${xs.map((x) => x.toFixed(0)).join(", ")})`);
  return median(xs);
};

test(`Users at ${MEMBERS.toLocaleString("en")} members: click to repaint`, async () => {
  // What a frame costs here: the floor under every "painted" figure.
  const frames = await b.execute(async () => {
    const t = [];
    for (let i = 0; i < 20; i++) t.push(await new Promise((r) => requestAnimationFrame(r)));
    return t.slice(1).map((x, i) => x - t[i]);
  });
  report("one animation frame", frames);
  // And what painting any change costs: one word of the heading changed, to the painted frame.
  const word = [];
  for (let i = 0; i < RUNS; i++) {
    word.push(await b.execute(async (i) => {
      const h = document.querySelector("h1");
      const t0 = performance.now();
      h.textContent = i % 2 ? "Users" : "Users ";
      await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
      return performance.now() - t0;
    }, i));
  }
  report("one word of the heading changed, to the painted frame", word);

  const sort = [];
  for (let i = 0; i < RUNS; i++) sort.push(await timed("click", 'button.sort[data-sort="email"]', null, "list"));
  report("sort by email (toggling the direction)", sort);

  const paging = [];
  for (let i = 0; i < RUNS; i++) paging.push(await timed("click", 'button[aria-label="Next page"]', null, "list"));
  report("next page", paging);

  const search = [];
  // Different terms, each a new first row; the screen waits 250 ms for more typing before asking.
  const terms = ["1234", "5678", "9012", "3456", "7890", "2345", "6789"];
  for (let i = 0; i < RUNS; i++) search.push(await timed("input", 'input[aria-label="Search"]', terms[i], "list"));
  report("search (including the 250 ms typing pause)", search);
  await timed("input", 'input[aria-label="Search"]', "", "list");

  const details = [];
  // Members open their details (invitations have none): the first RUNS members of the page.
  const emails = await b.execute((n) => [...document.querySelectorAll("table.members tbody tr")].filter((tr) => tr.querySelector("button.person")).slice(0, n).map((tr) => tr.dataset.email), RUNS);
  for (let i = 0; i < RUNS; i++) {
    const row = `tr[data-email="${emails[i]}"] button.person`;
    details.push(await timed("click", row, null, "dialog"));
    await press("Escape");
    await gone('[role="dialog"]');
  }
  report("open User details", details);

  // The same questions without the page: the command alone, through the same IPC, so the figures
  // above split into the core + IPC and the page's own work.
  const ask = (cmd, args) =>
    b.execute(async (cmd, args) => {
      const t0 = performance.now();
      await window.__TAURI_INTERNALS__.invoke(cmd, args);
      return performance.now() - t0;
    }, cmd, args);
  const page = (sort, descending, page, search) => ({ org: "big", filter: { search }, sort, descending, page, perPage: 25 });
  const only = { sort: [], page: [], search: [], details: [] };
  for (let i = 0; i < RUNS; i++) {
    only.sort.push(await ask("list_members", page("email", i % 2 === 1, 1)));
    only.page.push(await ask("list_members", page("name", false, 2 + i)));
    only.search.push(await ask("list_members", page("name", false, 1, terms[i])));
    only.details.push(await ask("member_details", { org: "big", email: emails[i] }));
  }
  report("list_members alone, sort by email", only.sort);
  report("list_members alone, next page", only.page);
  report("list_members alone, search", only.search);
  report("member_details alone", only.details);
});
