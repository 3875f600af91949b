// The /playground page in headless Chromium against the real binary, as a
// user would try it: chat on the echo model (streamed reply, finish reason
// and usage, the thread listed, history after a reload, a thread deleted),
// a tool run from the tools tab, a wrong token shown as an error, the
// example workflow run with its suspended step resumed, and a tool call of
// a fake OpenAI model shown as a card. Screenshots go to the artifacts dir.
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";

export function playgroundTests({ base, token, artifacts }, browser) {
  // open loads the page in a fresh context (empty localStorage) and
  // records script errors and requests to other origins.
  async function open(viewport = { width: 1200, height: 800 }) {
    const ctx = await (await browser()).newContext({ viewport });
    ctx.setDefaultTimeout(10_000); // a missing element fails in 10 s, not 30
    const page = await ctx.newPage();
    const errors = [];
    const foreign = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    page.on("request", (r) => { if (!r.url().startsWith(base)) foreign.push(r.url()); });
    const res = await page.goto(`${base}/playground`);
    assert.equal(res.status(), 200, "the page opens without a token");
    const done = async () => {
      assert.deepEqual(errors, [], "no script errors");
      assert.deepEqual(foreign, [], "the page loads nothing from another origin");
    };
    return { ctx, page, done };
  }
  async function signIn(page) {
    await page.fill("#token", token);
    await page.press("#token", "Enter");
    await page.locator("#agent option[value=assistant]").waitFor({ state: "attached" });
    assert.equal(await page.locator("#error").innerText(), "", "no error once the token is set");
  }
  const shot = (page, name) => page.screenshot({ path: join(artifacts, name), fullPage: true });
  const threadOf = async (page) => (await page.locator("#thread-label").innerText()).replace(/^Thread /, "");
  const authGet = (path) => fetch(base + path, { headers: { Authorization: `Bearer ${token}` } });

  test("playground chat: streamed reply, finish and usage, thread listed, history after reload, delete", async () => {
    const { ctx, page, done } = await open();
    try {
      await signIn(page);
      await page.selectOption("#agent", "assistant");
      await page.check("#raw-toggle");

      await page.fill("#input", "hello playground");
      await page.press("#input", "Enter");
      await page.locator(".msg.assistant .text", { hasText: "Echo: hello playground" }).waitFor();
      const meta = page.locator(".msg.assistant .meta").first();
      await meta.waitFor();
      assert.match(await meta.innerText(), /^finish: stop · tokens: \d+ in, \d+ out, \d+ total$/);
      // Streamed, not whole: the reply came in several text-delta chunks,
      // which the raw view lists.
      const deltas = await page.locator("#raw-log li", { hasText: '"type":"text-delta"' }).count();
      assert.ok(deltas >= 2, `${deltas} text-delta chunks in the raw view; want the reply streamed`);

      const first = await threadOf(page);
      const firstItem = page.locator(`#threads li[data-id="${first}"]`);
      await firstItem.waitFor();
      assert.match(await firstItem.getAttribute("class"), /current/);

      // Shift+Enter is a new line; Enter sends.
      await page.fill("#input", "line one");
      await page.press("#input", "Shift+Enter");
      await page.locator("#input").pressSequentially("line two");
      assert.equal(await page.locator("#input").inputValue(), "line one\nline two");
      assert.equal(await page.locator(".msg.user").count(), 1, "Shift+Enter sent nothing");
      await page.press("#input", "Enter");
      await page.locator(".msg.assistant .text", { hasText: "Echo: line one\nline two" }).waitFor();

      // A reload shows the thread's history.
      await page.reload();
      await page.locator(".msg.assistant .text", { hasText: "Echo: line one\nline two" }).waitFor();
      assert.deepEqual(await page.locator(".msg.user .text").allInnerTexts(), ["hello playground", "line one\nline two"]);
      assert.equal(await page.locator(".msg.assistant .meta").count(), 2, "finish and usage kept in history");
      assert.equal(await threadOf(page), first);
      await shot(page, "playground-chat.png");

      // Continue in a new thread, then delete the first one.
      await page.click("#new-thread");
      await page.fill("#input", "another thread");
      await page.press("#input", "Enter");
      await page.locator(".msg.assistant .text", { hasText: "Echo: another thread" }).waitFor();
      const second = await threadOf(page);
      assert.notEqual(second, first);
      await page.locator(`#threads li[data-id="${second}"]`).waitFor();
      const del = firstItem.locator(".del");
      await del.click();
      assert.equal(await del.innerText(), "Sure?", "the first click only arms the delete");
      await del.click();
      await firstItem.waitFor({ state: "detached" });
      assert.equal((await authGet(`/api/memory/threads/${first}?agentId=assistant`)).status, 404, "the server deleted it");
      await page.reload();
      await page.locator(`#threads li[data-id="${second}"]`).waitFor();
      assert.equal(await firstItem.count(), 0, "the deleted thread stays gone after a reload");

      // Readable on a phone: nothing wider than the screen.
      await page.setViewportSize({ width: 390, height: 844 });
      const [scroll, client] = await page.evaluate(() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]);
      assert.ok(scroll <= client, `page is ${scroll}px wide on a ${client}px screen`);
      assert.ok(await page.locator("#input").isVisible() && await page.locator("#send").isVisible());
      await shot(page, "playground-phone.png");
      await done();
    } finally {
      await ctx.close();
    }
  });

  test("playground tools tab: JSON input, run, result; a bad input shows the server's error", async () => {
    const { ctx, page, done } = await open();
    try {
      await signIn(page);
      await page.keyboard.press("Alt+2");
      assert.deepEqual([await page.locator("#chat").isVisible(), await page.locator("#tools").isVisible()], [false, true],
        "Alt+2 shows the tools tab alone");
      await page.locator("#tool option[value=calc]").waitFor({ state: "attached" });
      await page.selectOption("#tool", "calc");
      // The input starts from the schema: every required field.
      assert.deepEqual(JSON.parse(await page.locator("#tool-input").inputValue()), { a: 0, b: 0, op: "add" });
      await page.fill("#tool-input", '{"a": 6, "b": 7, "op": "multiply"}');
      await page.press("#tool-input", "Control+Enter");
      await page.locator("#tool-result", { hasText: '"result": 42' }).waitFor();

      await page.fill("#tool-input", '{"a": 1}');
      await page.click("#tool-run");
      await page.locator("#tool-result.bad", { hasText: /^Tool input validation failed for calc\. .*missing propert/s }).waitFor();
      await shot(page, "playground-tools.png");
      await done();
    } finally {
      await ctx.close();
    }
  });

  test("playground opened with ?apiKey=: the token fills the field, leaves the address bar, and works", async () => {
    const ctx = await (await browser()).newContext();
    ctx.setDefaultTimeout(10_000);
    try {
      const page = await ctx.newPage();
      const res = await page.goto(`${base}/playground?apiKey=${encodeURIComponent(token)}`);
      assert.equal(res.status(), 200);
      await page.locator("#agent option[value=assistant]").waitFor({ state: "attached" });
      assert.equal(await page.inputValue("#token"), token, "the token is in the field");
      assert.ok(!page.url().includes("apiKey"), `the token left the address bar: ${page.url()}`);
      assert.equal(await page.locator("#error").innerText(), "", "no error");
    } finally {
      await ctx.close();
    }
  });

  test("playground with a wrong token shows the 401 as an error", async () => {
    const { ctx, page, done } = await open();
    try {
      const answered = page.waitForResponse((r) => r.url().endsWith("/api/agents") &&
        r.request().headers().authorization === "Bearer wrong-token");
      await page.fill("#token", "wrong-token");
      await page.press("#token", "Enter");
      assert.equal((await answered).status(), 401);
      await page.locator("#error", { hasText: "401: Invalid or expired token (check the token field)" }).waitFor();
      assert.equal(await page.locator("#agent option[value=assistant]").count(), 0);
      await shot(page, "playground-wrong-token.png");

      await signIn(page); // the right one clears the error
      await done();
    } finally {
      await ctx.close();
    }
  });

  test("playground workflows tab: input form from the schema, live steps, resume form for the suspended step", async () => {
    const { ctx, page, done } = await open();
    try {
      await signIn(page);
      await page.click("#tab-workflows");
      assert.equal(await page.locator("#chat").isVisible(), false, "one tab shows at a time");
      await page.locator("#workflow option[value=publish]").waitFor({ state: "attached" });
      await page.selectOption("#workflow", "publish");
      const step = (id, status) => page.locator(`#wf-steps li[data-step="${id}"][data-status="${status}"]`);
      for (const id of ["draft", "approve", "wait", "publish"]) await step(id, "pending").waitFor();

      await page.fill("#wf-in-topic", "green tea");
      await page.press("#wf-in-topic", "Control+Enter");
      await step("draft", "success").waitFor();
      await step("approve", "suspended").waitFor();
      await page.locator("#wf-status", { hasText: "suspended" }).waitFor();
      assert.match(await page.locator("#wf-suspend-payload").innerText(), /Write a short post about green tea/);
      await shot(page, "playground-workflow-suspended.png");

      // The resume form comes from the step's resume schema.
      await page.check("#wf-resume-approved");
      await page.click("#wf-resume-run");
      await step("approve", "success").waitFor();
      await step("publish", "success").waitFor({ timeout: 20_000 }); // after the 2 s sleep step
      await page.locator("#wf-status", { hasText: "success" }).waitFor();
      assert.equal(await step("wait", "success").count(), 1);
      assert.equal(await page.locator("#wf-in-topic").inputValue(), "green tea", "the form keeps its input for the next run");
      const result = JSON.parse(await page.locator("#wf-result").innerText());
      assert.deepEqual(result, { published: true, text: "Echo: Write a short post about green tea." });
      await shot(page, "playground-workflow.png");
      await done();
    } finally {
      await ctx.close();
    }
  });

  test("playground on a model with tools: the tool call and its result as a card, kept in history", async () => {
    const { ctx, page, done } = await open();
    try {
      await signIn(page);
      await page.selectOption("#agent", "calculator");
      await page.fill("#input", "what is 2 + 3?");
      await page.press("#input", "Enter");
      const card = page.locator(".msg.assistant .tool-card", { has: page.locator(".name", { hasText: "calc" }) });
      await card.locator(".result", { hasText: '"result": 5' }).waitFor();
      assert.deepEqual(JSON.parse(await card.locator(".args").innerText()), { a: 2, b: 3, op: "add" });
      assert.match(await card.getAttribute("class"), /\bdone\b/);
      await page.locator(".msg.assistant .text", { hasText: 'The sum is {"result":5}.' }).waitFor();
      await page.locator(".msg.assistant .meta", { hasText: "finish: stop · tokens:" }).waitFor();
      await shot(page, "playground-tool-card.png");

      await page.reload();
      await card.locator(".result", { hasText: '"result": 5' }).waitFor();
      await page.locator(".msg.assistant .text", { hasText: "The sum is" }).waitFor();
      await done();
    } finally {
      await ctx.close();
    }
  });
}
