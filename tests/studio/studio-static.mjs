// Serves Mastra Studio's static build as `mastra studio` does: index.html,
// with its %%MASTRA_*%% placeholders filled in (the server's protocol, host,
// port and API prefix), for every path that is not an asset, so the app's
// client-side routes load; files under assets/ as they are.
import { createServer } from "node:http";
import { readFileSync, existsSync, statSync } from "node:fs";
import { join, normalize, extname } from "node:path";

const types = {
  ".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml", ".woff2": "font/woff2",
  ".ttf": "font/ttf", ".json": "application/json", ".map": "application/json", ".html": "text/html",
};

// studioHTML fills index.html's placeholders as `mastra studio
// --server-host --server-port --server-protocol --server-api-prefix` does;
// the ones that command fills from its own environment are left empty or
// at its defaults.
export function studioHTML(dir, server) {
  const u = new URL(server);
  const values = {
    MASTRA_STUDIO_BASE_PATH: "",
    MASTRA_SERVER_HOST: u.hostname,
    MASTRA_SERVER_PORT: u.port || (u.protocol === "https:" ? "443" : "80"),
    MASTRA_SERVER_PROTOCOL: u.protocol.replace(":", ""),
    MASTRA_API_PREFIX: "/api",
    MASTRA_EXPERIMENTAL_FEATURES: "false",
    MASTRA_TEMPLATES: "false",
    MASTRA_CLOUD_API_ENDPOINT: "",
    MASTRA_HIDE_CLOUD_CTA: "",
    MASTRA_TELEMETRY_DISABLED: "true",
    MASTRA_REQUEST_CONTEXT_PRESETS: "",
    MASTRA_EXPERIMENTAL_UI: "false",
    MASTRA_AGENT_SIGNALS: "true",
    MASTRA_SIGNALS_UI: "false",
    MASTRA_ORGANIZATION_ID: "",
    MASTRA_PLATFORM_PROJECT_ID: "",
    MASTRA_PLATFORM_OBSERVABILITY_ENDPOINT: "",
  };
  let html = readFileSync(join(dir, "index.html"), "utf8");
  for (const [k, v] of Object.entries(values)) html = html.replaceAll(`%%${k}%%`, v);
  // `mastra studio` leaves these two as they are (its dev server fills them).
  const left = (html.match(/%%MASTRA_[A-Z_]+%%/g) ?? []).filter(
    (p) => p !== "%%MASTRA_DEV_SERVER_INSTANCE_ID%%" && p !== "%%MASTRA_AUTO_DETECT_URL%%");
  if (left.length) throw new Error(`index.html has placeholders this test does not fill: ${[...new Set(left)].join(", ")}`);
  return html;
}

// serveStudio listens on 127.0.0.1:port and resolves to the server.
export function serveStudio(dir, server, port) {
  const html = studioHTML(dir, server);
  const srv = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url, "http://x").pathname);
    if (path === "/refresh-events") {
      // `mastra studio` has no such stream either (its dev server does):
      // 204 tells the EventSource to stop asking.
      res.writeHead(204).end();
      return;
    }
    const file = normalize(join(dir, path));
    const asset = /(^|\/)assets\//.test(path) || path.endsWith(".svg");
    if (asset && file.startsWith(dir) && existsSync(file) && statSync(file).isFile()) {
      res.writeHead(200, { "Content-Type": types[extname(file)] ?? "application/octet-stream" });
      res.end(readFileSync(file));
      return;
    }
    if (asset) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { "Content-Type": "text/html" }).end(html);
  });
  return new Promise((resolve) => srv.listen(port, "127.0.0.1", () => resolve(srv)));
}
