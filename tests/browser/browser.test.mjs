// The browser tests: one headless Chromium (Debian chromium, driven by
// playwright-core) for the whole run, a fresh context (so fresh storage) per
// test. Run through run.sh, which starts the server and the fake model.
import { after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { chromium } from "playwright-core";
import { docsTests } from "./docs.mjs";
import { playgroundTests } from "./playground.mjs";

const env = {
  base: process.env.MASTRA_URL,
  token: process.env.MASTRA_TOKEN,
  artifacts: process.env.BROWSER_ARTIFACTS,
};
assert.ok(env.base && env.token && env.artifacts, "run through tests/browser/run.sh");
mkdirSync(env.artifacts, { recursive: true });

let launched;
const browser = () => (launched ??= chromium.launch({
  executablePath: "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync"],
}));
after(async () => { if (launched) await (await launched).close(); });

docsTests(env, browser);
playgroundTests(env, browser);
