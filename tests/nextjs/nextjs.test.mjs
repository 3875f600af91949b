// examples/nextjs, built and started as a user would (next build, next start),
// in front of the real server on the echo model with auth on: its two routes
// from Node, the stream route read as raw SSE and the useChat route read by
// the AI SDK's own parser (the `ai` the example pins), then both pages in
// headless Chromium.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { randomUUID } from "node:crypto";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";

const next = process.env.NEXT_URL; // the Next.js app
const server = process.env.MASTRA_URL; // mastra-server behind it
const token = process.env.MASTRA_TOKEN; // the app's (admin) token
const example = process.env.EXAMPLE_DIR;
const artifacts = process.env.BROWSER_ARTIFACTS;
const profile = process.env.BROWSER_PROFILE;
assert.ok(next && server && token && example && artifacts && profile, "run through tests/nextjs/run.sh");

const { DefaultChatTransport, readUIMessageStream } = createRequire(join(example, "package.json"))("ai");

// sseData is the data of each event of an SSE body, in order (comments and
// keep-alives left out).
function sseData(body) {
  return body.split("\n\n").filter((e) => e.startsWith("data: ")).map((e) => e.slice("data: ".length));
}

// threadsOf is the ids of the resource's threads on the server.
async function threadsOf(resourceId) {
  const r = await fetch(`${server}/threads?resourceId=${resourceId}`, { headers: { Authorization: `Bearer ${token}` } });
  assert.equal(r.status, 200, await r.clone().text());
  return (await r.json()).threads.map((t) => t.id);
}

test("the README shows the example's stream route as it is", () => {
  const file = readFileSync(join(example, "src/app/api/chat/stream/route.ts"), "utf8");
  const readme = readFileSync(join(example, "../../README.md"), "utf8");
  const head = "```ts\n// src/app/api/chat/stream/route.ts\n";
  const at = readme.indexOf(head);
  assert.ok(at >= 0, `README.md has no block starting ${JSON.stringify(head)}`);
  const shown = readme.slice(at + head.length, readme.indexOf("```\n", at + head.length));
  // The file's header comment is left out of the README.
  assert.equal(shown, file.slice(file.indexOf("import ")));
});

test("POST /api/chat/stream passes /agent/stream's events through, the resource set by the app", async () => {
  const ask = (body) => fetch(`${next}/api/chat/stream`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  // The browser's resourceId is not the app's to take.
  const res = await ask({ message: "hello next", resourceId: "someone-else" });
  assert.equal(res.status, 200, await res.clone().text());
  assert.equal(res.headers.get("content-type"), "text/event-stream");
  const threadId = res.headers.get("x-thread-id");
  assert.ok(threadId, "X-Thread-Id is passed on");
  const data = sseData(await res.text());
  assert.equal(data.at(-1), "[DONE]");
  const chunks = data.slice(0, -1).map((d) => JSON.parse(d));
  assert.equal(chunks[0].type, "start");
  assert.equal(chunks[0].payload.resourceId, "demo-user");
  const text = chunks.filter((c) => c.type === "text-delta").map((c) => c.payload.text).join("");
  assert.equal(text, "Echo: hello next");
  assert.equal(chunks.at(-1).type, "finish");

  // The thread id continues the conversation, under the app's user.
  const again = await ask({ message: "and again", threadId });
  assert.equal(again.status, 200);
  assert.equal(again.headers.get("x-thread-id"), threadId);
  await again.text();
  assert.ok((await threadsOf("demo-user")).includes(threadId));
  assert.ok(!(await threadsOf("someone-else")).includes(threadId));

  const bad = await ask({ threadId });
  assert.equal(bad.status, 400);
  assert.deepEqual(await bad.json(), { error: "message is required" });
});

test("POST /api/chat answers useChat with the AI SDK UI message stream", async () => {
  const chatId = `chat-${randomUUID()}`;
  const transport = new DefaultChatTransport({ api: `${next}/api/chat`, body: { resourceId: "someone-else" } });
  const stream = await transport.sendMessages({
    trigger: "submit-message",
    chatId,
    messageId: undefined,
    messages: [{ id: randomUUID(), role: "user", parts: [{ type: "text", text: "hi from useChat" }] }],
    abortSignal: undefined,
  });
  let message;
  for await (const m of readUIMessageStream({ stream, terminateOnError: true })) message = m;
  assert.equal(message.role, "assistant");
  assert.equal(message.parts.filter((p) => p.type === "text").map((p) => p.text).join(""), "Echo: hi from useChat");
  // The chat id is the thread, owned by the app's user.
  assert.ok((await threadsOf("demo-user")).includes(chatId));
  assert.ok(!(await threadsOf("someone-else")).includes(chatId));

  // A body the server refuses: its 4xx JSON error, passed on.
  const bad = await fetch(`${next}/api/chat`, { method: "POST", headers: { "Content-Type": "application/json" }, body: "{}" });
  assert.equal(bad.status, 400);
  assert.equal(typeof (await bad.json()).error, "string");
});

test("the pages in headless Chromium: useChat and the raw stream show the streamed reply", async () => {
  mkdirSync(profile, { recursive: true });
  mkdirSync(artifacts, { recursive: true });
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync"],
    viewport: { width: 390, height: 844 },
  });
  try {
    const page = ctx.pages()[0] ?? (await ctx.newPage());
    const errors = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    page.on("response", (r) => { if (r.status() >= 400) errors.push(`${r.status()} ${r.url()}`); });

    await page.goto(next);
    await page.fill("#message", "hello browser");
    await page.press("#message", "Enter");
    const reply = page.locator('#messages li[data-role="assistant"]');
    await reply.filter({ hasText: "Echo: hello browser" }).waitFor({ state: "visible" });
    await page.locator('[data-status="ready"]').waitFor();
    // A second turn in the same chat.
    await page.fill("#message", "once more");
    await page.press("#message", "Enter");
    await reply.filter({ hasText: "Echo: once more" }).waitFor({ state: "visible" });
    assert.deepEqual(await page.locator("#messages li").allInnerTexts(),
      ["You: hello browser", "Agent: Echo: hello browser", "You: once more", "Agent: Echo: once more"]);
    await page.screenshot({ path: join(artifacts, "nextjs-usechat.png"), fullPage: true });

    await page.goto(`${next}/stream`);
    await page.fill("#message", "raw stream");
    await page.press("#message", "Enter");
    await page.locator("#reply", { hasText: "Echo: raw stream" }).waitFor({ state: "visible" });
    await page.screenshot({ path: join(artifacts, "nextjs-stream.png"), fullPage: true });
    assert.deepEqual(errors, [], "no script errors");
  } finally {
    await ctx.close();
  }
});
