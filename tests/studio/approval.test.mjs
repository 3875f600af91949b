// Mastra Studio's tool approval (human in the loop) against the real
// binary, in headless Chromium: the "approver" agent (require_approval =
// true; the forecaster's fake model, fake-openai.mjs, calls the weather tool) stops
// at the tool call; Studio shows Approve / Decline on it; Approve runs the
// tool and the model answers with its result; Decline, in a second chat,
// tells the model the call was not approved, and the tool does not run.
//
// studio.test.mjs runs beside this file, in another process, against the
// same server, and serves Studio on STUDIO_PORT (the origin the server's
// CORS names). This file does not listen on that port: the browser's
// requests to Studio's origin are answered from Studio's files by
// Playwright's request routing, so both files share the origin.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, existsSync, statSync } from "node:fs";
import { join, normalize, extname } from "node:path";
import { chromium } from "playwright-core";
import { studioHTML } from "./studio-static.mjs";

const base = process.env.MASTRA_URL;
const token = process.env.MASTRA_TOKEN;
const studioDir = process.env.STUDIO_DIR;
const studioPort = Number(process.env.STUDIO_PORT);
const artifacts = process.env.STUDIO_ARTIFACTS;
const profile = process.env.BROWSER_PROFILE && `${process.env.BROWSER_PROFILE}-approval`;
const studio = `http://127.0.0.1:${studioPort}`;

const types = { ".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml", ".woff2": "font/woff2", ".ttf": "font/ttf" };

let ctx;
after(async () => {
  await ctx?.close();
});

// routeStudio answers the browser's requests to Studio's origin as
// studio-static.mjs's server does: assets as they are, index.html for the
// app's routes, 204 for the dev server's event stream.
async function routeStudio(context) {
  const html = studioHTML(studioDir, base);
  await context.route(`${studio}/**`, async (route) => {
    const path = decodeURIComponent(new URL(route.request().url()).pathname);
    if (path === "/refresh-events") return route.fulfill({ status: 204 });
    const file = normalize(join(studioDir, path));
    const asset = /(^|\/)assets\//.test(path) || path.endsWith(".svg");
    if (asset) {
      if (file.startsWith(studioDir) && existsSync(file) && statSync(file).isFile()) {
        return route.fulfill({ status: 200, contentType: types[extname(file)] ?? "application/octet-stream", body: readFileSync(file) });
      }
      return route.fulfill({ status: 404 });
    }
    return route.fulfill({ status: 200, contentType: "text/html", body: html });
  });
}

test("Mastra Studio's tool approval against mastra-server", async (t) => {
  assert.ok(base && token && studioDir && studioPort && artifacts && profile, "run through tests/studio/run.sh");
  mkdirSync(profile, { recursive: true });
  ctx = await chromium.launchPersistentContext(profile, {
    executablePath: "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync",
      // Routed responses have no address space of their own: Chromium takes
      // the page for a public one and refuses its calls to the loopback
      // server (Local Network Access). studio.test.mjs, served from a real
      // loopback port, needs no such switch.
      "--disable-features=LocalNetworkAccessChecks"],
    viewport: { width: 1400, height: 900 },
  });
  await routeStudio(ctx);
  const page = ctx.pages()[0] ?? (await ctx.newPage());
  const pageErrors = [];
  page.on("pageerror", (e) => pageErrors.push(String(e)));
  if (process.env.DEBUG_APPROVAL) {
    page.on("console", (m) => console.log("console:", m.text()));
    page.on("requestfailed", (r) => console.log("failed:", r.method(), r.url(), r.failure()?.errorText));
  }
  // Studio's calls to the approval routes, with their answers' status.
  const approvalCalls = [];
  page.on("response", (r) => {
    if (/\/api\/agents\/approver\/(approve|decline)-tool-call/.test(r.url())) approvalCalls.push(`${r.request().method()} ${new URL(r.url()).pathname} ${r.status()}`);
  });
  // Studio's attempts to subscribe to the thread, with their answers'
  // status: 405, which Studio takes as "not supported" at once (client-js
  // retries a 5xx, and an approval sent while it did waited for a
  // subscription that never came: shown only after a reload).
  const subscribeAnswers = [];
  page.on("response", (r) => {
    if (r.url().endsWith("/threads/subscribe") && r.request().method() === "POST") subscribeAnswers.push(r.status());
  });
  const shot = (name) => page.screenshot({ path: join(artifacts, `${name}.png`), fullPage: true });
  // A failed step leaves a screenshot and what the page says.
  const step = (name, fn) => t.test(name, async () => {
    try {
      await fn();
    } catch (e) {
      await shot(`approval-failed-${name.split(/\W+/)[0]}`).catch(() => {});
      const said = await page.locator("body").innerText().catch(() => "");
      throw new Error(`${e.message}\npage says: ${said.slice(-600)}`);
    }
  });

  await step("connects with the token and lists the approver agent", async () => {
    await page.goto(`${studio}/agents`);
    await page.locator("input[name=url]").fill(base);
    await page.getByText("Add Header").click();
    await page.locator('input[name="headers.0.name"]').fill("Authorization");
    await page.locator('input[name="headers.0.value"]').fill(`Bearer ${token}`);
    await page.getByText("Save Configuration").click();
    await page.getByRole("link", { name: /Approver/ }).first().waitFor();
  });

  // ask opens a new chat with the approver, asks for the weather and
  // waits for Studio's approval buttons on the weather call.
  async function ask(text) {
    await page.goto(`${studio}/agents/approver/chat`);
    const box = page.getByPlaceholder("Enter your message...");
    await box.fill(text);
    await box.press("Enter");
    const approve = page.getByRole("button", { name: "Approve weather" });
    const decline = page.getByRole("button", { name: "Decline weather" });
    await approve.waitFor();
    await decline.waitFor();
    assert.ok(await approve.isEnabled(), "Approve is enabled");
    assert.ok(await decline.isEnabled(), "Decline is enabled");
    // The model has not answered yet: the turn waits for the human.
    assert.equal(await page.getByText(/Forecast:/).count(), 0, "the model answered before the approval");
    return { approve, decline };
  }

  await step("Approve runs the tool; the model answers with its result", async () => {
    const { approve } = await ask("weather in oslo, please");
    await shot("approval-pending");
    await approve.click();
    // The fake model repeats the tool's result: the weather tool ran.
    const answer = page.getByText(/^Forecast: \{"city":"Oslo".*tempC/).first();
    await answer.waitFor();
    // The tool call's card shows the tool's output, and no buttons.
    // (pretty-printed there: the model's answer has the compact JSON).
    await page.getByText(/"tempC": -?\d+/).first().waitFor();
    assert.equal(await page.getByRole("button", { name: "Approve weather" }).count(), 0, "Approve still offered");
    await shot("approval-approved");
    const body = await page.locator("body").innerText();
    assert.doesNotMatch(body, /not approved/i);
    assert.ok(approvalCalls.some((c) => / \/api\/agents\/approver\/approve-tool-call 200$/.test(c)), `approval calls: ${approvalCalls}`);

    // After a reload the thread shows the turn as it was stored.
    const thread = page.locator('a[href*="/agents/approver/threads/"]:not([href$="/new"])');
    await thread.first().waitFor();
    await page.goto(new URL(await thread.first().getAttribute("href"), studio).href);
    await page.getByText(/^Forecast: \{"city":"Oslo".*tempC/).first().waitFor();
    await shot("approval-approved-reloaded");
  });

  await step("Decline, in a second chat: the model is told, the tool does not run", async () => {
    const { decline } = await ask("weather in oslo again?");
    await decline.click();
    await page.getByText(/^Forecast: "Tool call was not approved by the user"/).first().waitFor();
    await shot("approval-declined");
    // The card keeps the buttons, both disabled now: the call was decided.
    assert.ok(await decline.isDisabled(), "Decline still enabled after the decline");
    const body = await page.locator("body").innerText();
    // A new chat: only this thread is on the page, and no tool output.
    assert.doesNotMatch(body, /tempC/, "the declined tool ran");
    assert.ok(approvalCalls.some((c) => / \/api\/agents\/approver\/decline-tool-call 200$/.test(c)), `approval calls: ${approvalCalls}`);
  });

  await step("every thread subscription attempt was answered 405", () => {
    assert.ok(subscribeAnswers.length > 0, "Studio never asked to subscribe to a thread");
    assert.deepEqual(subscribeAnswers.filter((s) => s !== 405), [], `subscribe answers: ${subscribeAnswers}`);
  });

  await step("no uncaught errors in Studio", () => {
    assert.deepEqual(pageErrors, []);
  });
});
