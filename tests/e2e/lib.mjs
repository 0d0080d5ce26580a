// What the end-to-end tests share: a WebDriver session on the real `gatehouse` window (through
// tauri-driver, started by scripts/e2e), helpers that click, type and read like a person, the CLI
// on the same database for setting things up, and the screenshots of docs/screenshots/.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { resolve } from "node:path";
import { remote } from "webdriverio";

export const BINARY = resolve(process.env.GATEHOUSE_BINARY ?? "target/debug/gatehouse");
export const DB = process.env.GATEHOUSE_E2E_DB;
export const SHOTS = resolve(process.env.GATEHOUSE_SCREENSHOTS ?? "docs/screenshots");
export const PW = "correct horse battery";
mkdirSync(SHOTS, { recursive: true });

/** The sizes every screenshot is taken at: the default window and the smallest it may be. */
export const SIZES = [
  { suffix: "", width: 1280, height: 800 },
  { suffix: "-960", width: 960, height: 600 },
];

/** @type {import("webdriverio").Browser} */
export let b;

export async function start(args = []) {
  b = await remote({
    hostname: "127.0.0.1",
    port: 4444,
    logLevel: "warn",
    capabilities: {
      "tauri:options": { application: BINARY, ...(args.length ? { args } : {}) },
      "wdio:enforceWebDriverClassic": true,
      browserName: "wry",
    },
  });
  await b.setTimeout({ implicit: 0 });
  await size(1280, 800);
  return b;
}

export async function stop() {
  await b?.deleteSession();
}

/** Resize the window (its inner size: Xvfb has no window decorations). */
export async function size(width, height) {
  await b.setWindowRect(null, null, width, height);
  await b.waitUntil(async () => (await b.execute(() => [innerWidth, innerHeight])).join() === `${width},${height}`, {
    timeout: 5000,
    timeoutMsg: `the window never became ${width}×${height}`,
  });
  await b.pause(150);
}

export const $ = (sel) => b.$(sel);
export const $$ = (sel) => b.$$(sel);
// XPath for "a button with this text inside a dialog/menu/section" (CSS cannot match on text).
export const exact = (text) => `normalize-space(.)="${text}"`;
export const dialogButton = (text) => `//*[@role="dialog"]//button[${exact(text)}]`;
export const dialogButtonStarting = (text) => `//*[@role="dialog"]//button[starts-with(normalize-space(.), "${text}")]`;
export const menuItem = (text) => `//*[@role="menu"]//*[@role="menuitem"][starts-with(normalize-space(.), "${text}")]`;

export async function waitFor(sel, timeout = 10000) {
  const el = await $(sel);
  await el.waitForDisplayed({ timeout });
  return el;
}
export async function type(sel, text) {
  const el = await waitFor(sel);
  await el.clearValue();
  await el.setValue(text);
}
export async function click(sel) {
  const el = await waitFor(sel);
  await el.waitForClickable({ timeout: 10000 });
  await el.click();
}
export async function textOf(sel) {
  return (await waitFor(sel)).getText();
}
export async function gone(sel, timeout = 10000) {
  await b.waitUntil(async () => !(await (await $(sel)).isExisting()), { timeout, timeoutMsg: `${sel} is still there` });
}

/** Press keys one after another, as a person at a keyboard does. */
export async function press(...keys) {
  for (const k of keys) {
    await b.keys(k);
    await b.pause(60);
  }
}

/** A description of the focused element, and whether a person can see that it has focus. */
export async function focused() {
  return b.execute(() => {
    const el = document.activeElement;
    if (!el || el === document.body) return { tag: "body", visible: false, text: "" };
    const s = getComputedStyle(el);
    const ring =
      (s.outlineStyle !== "none" && parseFloat(s.outlineWidth) > 0) || (s.boxShadow && s.boxShadow !== "none");
    const r = el.getBoundingClientRect();
    const onScreen = r.width > 0 && r.height > 0 && r.bottom > 0 && r.right > 0 && r.top < innerHeight && r.left < innerWidth;
    return {
      tag: el.tagName.toLowerCase(),
      label: el.getAttribute("aria-label") ?? "",
      text: (el.textContent ?? "").trim().slice(0, 60),
      visible: !!ring && onScreen,
      ring: `${s.outlineStyle} ${s.outlineWidth} | ${s.boxShadow}`,
    };
  });
}

/** Whether `sel` matches the focused element. */
export async function isFocused(sel) {
  return b.execute((s) => {
    const el = document.activeElement;
    if (!el) return false;
    if (s.startsWith("/") || s.startsWith("(")) {
      const hit = document.evaluate(s, document, null, XPathResult.FIRST_ORDERED_NODE_TYPE, null).singleNodeValue;
      return hit === el;
    }
    return el.matches(s);
  }, sel);
}

/** Press Tab (or Shift+Tab) until `sel` has focus, checking at each stop that the focus is visible. */
export async function tabTo(sel, { back = false, max = 80 } = {}) {
  for (let i = 0; i < max; i++) {
    if (await isFocused(sel)) return;
    await press(back ? ["Shift", "Tab"] : "Tab");
    const f = await focused();
    assert.ok(f.visible, `focus is not visible on <${f.tag}> “${f.label || f.text}” (${f.ring})`);
  }
  throw new Error(`Tab never reached ${sel}`);
}

/** Whether the element is entirely inside the window and is what a click at its centre would hit. */
export async function hittable(sel) {
  return b.execute((s) => {
    const el = s.startsWith("/") || s.startsWith("(")
      ? document.evaluate(s, document, null, XPathResult.FIRST_ORDERED_NODE_TYPE, null).singleNodeValue
      : document.querySelector(s);
    if (!el) return { ok: false, why: "missing" };
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.height === 0) return { ok: false, why: "not rendered" };
    if (r.left < 0 || r.top < 0 || r.right > innerWidth + 0.5 || r.bottom > innerHeight + 0.5)
      return { ok: false, why: `outside the window: ${JSON.stringify(r)} in ${innerWidth}×${innerHeight}` };
    const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
    if (!hit || !(hit === el || el.contains(hit)))
      return { ok: false, why: `covered by <${hit?.tagName}> ${hit?.className} “${(hit?.textContent ?? "").trim().slice(0, 40)}”` };
    return { ok: true, why: "" };
  }, sel);
}

export async function assertHittable(sel, what = sel) {
  const h = await hittable(sel);
  assert.ok(h.ok, `${what}: ${h.why}`);
}

/** Set a value the way a person's input would, for inputs WebDriver cannot type into. */
export async function setInput(sel, value) {
  await waitFor(sel);
  await b.execute(
    (s, v) => {
      const el = document.querySelector(s);
      el.value = v;
      el.dispatchEvent(new Event("input", { bubbles: true }));
      el.dispatchEvent(new Event("change", { bubbles: true }));
    },
    sel,
    value,
  );
}

/**
 * Screenshots `NAME-light.png`, `NAME-dark.png` at 1280×800, and `NAME-960-light.png`,
 * `NAME-960-dark.png` at 960×600; the window is back at 1280×800 afterwards.
 */
export async function shot(name, { sizes = SIZES } = {}) {
  // Notices fade by themselves; dismiss them so they do not stand in every picture.
  await b.execute(() => document.querySelectorAll('.notices button[aria-label="Dismiss"]').forEach((x) => x.click()));
  for (const s of sizes) {
    await size(s.width, s.height);
    await b.pause(250);
    for (const theme of ["light", "dark"]) {
      await b.execute((t) => (document.documentElement.dataset.theme = t), theme);
      await b.pause(150);
      await b.saveScreenshot(`${SHOTS}/${name}${s.suffix}-${theme}.png`);
    }
  }
  await b.execute(() => delete document.documentElement.dataset.theme);
  await size(1280, 800);
}

export async function go(screen) {
  await click(`button[data-screen="${screen}"]`);
  await b.pause(300);
}
export async function signOut() {
  await click("button[data-sign-out]");
  await waitFor("button=Sign in");
}
export async function signIn(email, password = PW) {
  await type('input[name="email"]', email);
  await type('input[name="password"]', password);
  await click("button=Sign in");
  await waitFor('button[data-screen="users"]', 15000);
}
/** Switch organization through the switcher. */
export async function switchOrg(name) {
  await click("button.org-switch");
  await click(`//*[@role="menu"]//*[@role="menuitemradio"][.//*[${exact(name)}]]`);
  await b.waitUntil(async () => (await orgShown()).includes(name), {
    timeout: 10000,
    timeoutMsg: `never switched to ${name}`,
  });
  await b.pause(200);
}
/** The organization the switcher shows. */
export async function orgShown() {
  return b.execute(() => document.querySelector("button.org-switch")?.textContent ?? "");
}
export async function rowStatus(email) {
  const row = await $(`tr[data-email="${email}"]`);
  if (!(await row.isExisting())) return null;
  return row.getAttribute("data-status");
}
export async function waitRowStatus(email, status, timeout = 15000) {
  await b.waitUntil(async () => (await rowStatus(email)) === status, { timeout, timeoutMsg: `${email} never became ${status}` });
}
/** Open the row menu of `email` in the member list. */
export async function rowMenu(email) {
  await click(`tr[data-email="${email}"] button[aria-haspopup="menu"]`);
  await waitFor('[role="menu"]');
}

/** Run the CLI on the test database; returns its JSON answer. */
export function cli(args, { as, password = PW, env = {} } = {}) {
  const full = ["--db", DB, "--json", ...(as ? ["--as", as] : []), ...args];
  // maxBuffer: an audit list of a large organization is tens of megabytes of JSON (the default 1 MiB
  // failed with ENOBUFS).
  const out = execFileSync(BINARY, full, {
    env: { ...process.env, GATEHOUSE_PASSWORD: password, ...env },
    maxBuffer: 1 << 30,
  });
  const text = out.toString().trim();
  return text ? JSON.parse(text) : null;
}
/** The same, answering whether it succeeded instead of throwing. */
export function cliOk(args, opts) {
  try {
    cli(args, { ...opts });
    return true;
  } catch {
    return false;
  }
}
/** Invite with the CLI; returns {email: token}. */
export function cliInvite(org, emails, role, as = "olivia@acme.test") {
  const out = cli(["invites", "create", "--org", org, "--emails", emails.join(","), "--role", role], { as });
  return Object.fromEntries(out.invitations.map((i) => [i.email, i.token]));
}
/** A new account that accepted an invitation to `org`. */
export function cliMember(org, email, name, role = "member", as = "olivia@acme.test") {
  const token = cliInvite(org, [email], role, as)[email];
  cli(["invites", "accept", token, "--name", name]);
}
