// hello-as: a mastra-server route in AssemblyScript. It answers JSON with the request's method and
// URI and one request-context value (by default "tenant", which the header-context middleware
// sets from X-Tenant-Id).
import {
  Request, Response, handleRequest, contextGet, configText, jsonString,
} from "../../../sdk/assemblyscript/assembly/index";

// The module's exports: memory is exported by default, handle_request comes from the SDK.
export { handle_request } from "../../../sdk/assemblyscript/assembly/index";

// Config {"context_key":"tenant"}; a tiny lookup keeps the example free of a JSON library.
function contextKey(): string {
  const cfg = configText();
  const marker = "\"context_key\"";
  const at = cfg.indexOf(marker);
  if (at < 0) return "tenant";
  const open = cfg.indexOf("\"", cfg.indexOf(":", at + marker.length) + 1);
  const close = cfg.indexOf("\"", open + 1);
  if (open < 0 || close < 0) return "tenant";
  return cfg.substring(open + 1, close);
}

function hello(req: Request, resp: Response): bool {
  const key = contextKey();
  const value = contextGet(key); // raw JSON text, or null when unset
  let json = "{\"method\":" + jsonString(req.method());
  json += ",\"uri\":" + jsonString(req.uri());
  json += ",\"contextKey\":" + jsonString(key);
  json += ",\"contextValue\":" + (value !== null ? value : "null");
  json += ",\"language\":\"assemblyscript\"}";
  resp.writeJSON(200, json);
  return false; // we wrote the response
}

handleRequest(hello);
