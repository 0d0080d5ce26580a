// A clicked `gatehouse://invite/TOKEN` link: the system starts `gatehouse gatehouse://invite/TOKEN`,
// and the window opens on the accept-invitation screen. Runs after app.test.mjs, on its database.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { resolve } from "node:path";
import { remote } from "webdriverio";

const BINARY = resolve(process.env.GATEHOUSE_BINARY ?? "target/debug/gatehouse");
const DB = process.env.GATEHOUSE_E2E_DB;
const PW = "correct horse battery";
let b;

after(async () => {
  await b?.deleteSession();
});

test("a gatehouse://invite link opens the accept screen, and accepting signs the person in", { skip: !DB && "GATEHOUSE_E2E_DB is not set (run through scripts/e2e)" }, async () => {
  // The owner from app.test.mjs invites someone with the CLI, on the same database.
  const out = execFileSync(BINARY, ["--db", DB, "--as", "olivia@acme.test", "--json", "invites", "create", "--org", "acme-corp", "--emails", "link@acme.test", "--role", "member"], {
    env: { ...process.env, GATEHOUSE_PASSWORD: PW },
  });
  const token = JSON.parse(out.toString()).invitations[0].token;

  b = await remote({
    hostname: "127.0.0.1",
    port: 4444,
    logLevel: "warn",
    capabilities: { "tauri:options": { application: BINARY, args: [`gatehouse://invite/${token}`] }, "wdio:enforceWebDriverClassic": true, browserName: "wry" },
  });
  const heading = await b.$("h1=Accept an invitation");
  await heading.waitForDisplayed({ timeout: 20000 });
  assert.match(await (await b.$("code")).getText(), new RegExp(token.slice(0, 12)));
  await (await b.$('input[name="name"]')).setValue("Lin Link");
  await (await b.$('input[name="password"]')).setValue(PW);
  await (await b.$("button=Accept")).click();
  const me = await b.$(".who strong");
  await me.waitForDisplayed({ timeout: 20000 });
  assert.equal(await me.getText(), "Lin Link");
});
