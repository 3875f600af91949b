// The /docs page in headless Chromium: behind auth it asks for a token, then
// lists every operation of the OpenAPI document by tag, loads nothing from
// another origin, fits a phone's width, and leaves a screenshot.
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";

// docsTests registers the test; browser() is the run's one Chromium.
export function docsTests({ base, token, artifacts }, browser) {
  test("GET /docs shows every route of the OpenAPI document", async () => {
    const res = await fetch(`${base}/api/openapi.json`, { headers: { Authorization: `Bearer ${token}` } });
    assert.equal(res.status, 200);
    const doc = await res.json();
    const ops = Object.entries(doc.paths).flatMap(([p, item]) => Object.keys(item).map((m) => `${m.toUpperCase()} ${p}`));

    const ctx = await (await browser()).newContext({ viewport: { width: 390, height: 844 } }); // a phone
    try {
      const page = await ctx.newPage();
      const foreign = [];
      const errors = [];
      page.on("request", (r) => { if (!r.url().startsWith(base)) foreign.push(r.url()); });
      page.on("pageerror", (e) => errors.push(String(e)));

      await page.goto(`${base}/docs`);
      // /docs is public here, the document is not: the page asks for a token.
      await page.locator("#token").waitFor({ state: "visible" });
      await page.fill("#token", token);
      await page.press("#token", "Enter");

      const summary = (method, path) => page.locator("details.op > summary")
        .filter({ has: page.locator(`.m.${method}`, { hasText: method }) })
        .filter({ has: page.locator(".path", { hasText: new RegExp(`^${path.replace(/[{}]/g, "\\$&")}$`) }) });
      await summary("POST", "/agent/generate").waitFor({ state: "visible" });
      assert.equal(await summary("GET", "/api/workflows").isVisible(), true, "GET /api/workflows is shown");
      assert.match(await page.locator("#tag-workflows").innerText(), /workflows/i);

      // Every operation of the document, once.
      const shown = await page.locator("details.op > summary:has(.m)").evaluateAll((els) =>
        els.map((e) => `${e.querySelector(".m").textContent} ${e.querySelector(".path").textContent}`));
      assert.deepEqual([...shown].sort(), [...ops].sort());

      // An operation opens onto its request body schema.
      await summary("POST", "/agent/generate").click();
      const body = page.locator("details.op[open] .body");
      await body.waitFor({ state: "visible" });
      assert.match(await body.innerText(), /Request body[\s\S]*message\?/);

      // Readable on a phone: nothing wider than the screen.
      const [scroll, client, wide] = await page.evaluate(() => {
        const w = document.documentElement.clientWidth;
        const over = [...document.querySelectorAll("body *")].filter((e) => e.getBoundingClientRect().right > w + 0.5)
          .slice(0, 3).map((e) => `<${e.tagName.toLowerCase()} class="${e.className}"> ${e.textContent.slice(0, 40)}`);
        return [document.documentElement.scrollWidth, w, over];
      });
      assert.ok(scroll <= client, `page is ${scroll}px wide on a ${client}px screen: ${wide.join("; ")}`);

      await page.screenshot({ path: join(artifacts, "docs.png"), fullPage: true });
      assert.deepEqual(foreign, [], "the page loads nothing from another origin");
      assert.deepEqual(errors, [], "no script errors");
    } finally {
      await ctx.close();
    }
  });
}
