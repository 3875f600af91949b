// calc-tool: a mastra-server agent tool in AssemblyScript. The agent loop (or
// POST /api/tools/calc/execute) calls it with the arguments as the JSON request body:
//
//   {"a": 6, "b": 7, "op": "multiply"}  ->  {"result": 42}
//
// op is "add", "subtract", "multiply" or "divide" (or "+", "-", "*", "/"). A body it cannot use
// (not a flat JSON object, a missing or non-numeric a/b, an unknown op, division by zero) gets
// 400 {"error": "..."}. The host validates the arguments against the tool's input_schema before
// the call; the checks here keep the tool safe when it is called some other way.
import {
  Request, Response, handleRequest, jsonString, parseJSONString,
} from "../../../sdk/assemblyscript/assembly/index";

// The module's exports: memory is exported by default, handle_request comes from the SDK.
export { handle_request } from "../../../sdk/assemblyscript/assembly/index";

// Args is what a flat JSON object gave us.
class Args {
  a: f64 = 0;
  b: f64 = 0;
  op: string = "";
  hasA: bool = false;
  hasB: bool = false;
  error: string = "";
}

function isSpace(c: i32): bool { return c == 0x20 || c == 0x09 || c == 0x0a || c == 0x0d; }

function skipSpace(s: string, i: i32): i32 {
  while (i < s.length && isSpace(s.charCodeAt(i))) i++;
  return i;
}

// stringEnd returns the index just past the JSON string literal starting at i (a quote), or -1.
function stringEnd(s: string, i: i32): i32 {
  for (let j = i + 1; j < s.length; j++) {
    const c = s.charCodeAt(j);
    if (c == 0x5c) { j++; continue; }
    if (c == 0x22) return j + 1;
  }
  return -1;
}

function isNumberChar(c: i32): bool {
  return (c >= 0x30 && c <= 0x39) || c == 0x2d || c == 0x2b || c == 0x2e || c == 0x65 || c == 0x45;
}

// parse reads a flat JSON object of string keys and number or string values.
function parse(body: string): Args {
  const out = new Args();
  let i = skipSpace(body, 0);
  if (i >= body.length || body.charCodeAt(i) != 0x7b) { out.error = "expected a JSON object"; return out; }
  i = skipSpace(body, i + 1);
  if (i < body.length && body.charCodeAt(i) == 0x7d) return out;
  while (true) {
    if (i >= body.length || body.charCodeAt(i) != 0x22) { out.error = "expected a key"; return out; }
    const keyEnd = stringEnd(body, i);
    if (keyEnd < 0) { out.error = "unterminated key"; return out; }
    const key = parseJSONString(body.substring(i, keyEnd));
    i = skipSpace(body, keyEnd);
    if (key === null || i >= body.length || body.charCodeAt(i) != 0x3a) { out.error = "expected ':'"; return out; }
    i = skipSpace(body, i + 1);
    if (i >= body.length) { out.error = "expected a value"; return out; }
    if (body.charCodeAt(i) == 0x22) {
      const end = stringEnd(body, i);
      if (end < 0) { out.error = "unterminated string"; return out; }
      const v = parseJSONString(body.substring(i, end));
      if (v === null) { out.error = "bad string"; return out; }
      if (key == "op") out.op = v;
      else if (key == "a" || key == "b") { out.error = key + " must be a number"; return out; }
      i = end;
    } else {
      let end = i;
      while (end < body.length && isNumberChar(body.charCodeAt(end))) end++;
      if (end == i) { out.error = "unsupported value for " + key; return out; }
      const n = parseFloat(body.substring(i, end));
      if (isNaN(n)) { out.error = key + " is not a number"; return out; }
      if (key == "a") { out.a = n; out.hasA = true; }
      else if (key == "b") { out.b = n; out.hasB = true; }
      else if (key == "op") { out.error = "op must be a string"; return out; }
      i = end;
    }
    i = skipSpace(body, i);
    if (i < body.length && body.charCodeAt(i) == 0x2c) { i = skipSpace(body, i + 1); continue; }
    if (i < body.length && body.charCodeAt(i) == 0x7d) return out;
    out.error = "expected ',' or '}'";
    return out;
  }
}

function fail(resp: Response, msg: string): bool {
  resp.writeJSON(400, "{\"error\":" + jsonString(msg) + "}");
  return false;
}

// number formats f64 as JSON: integers without a fraction.
function number(x: f64): string {
  if (x == Math.floor(x) && Math.abs(x) < 9007199254740992) return (<i64>x).toString();
  return x.toString();
}

function calc(req: Request, resp: Response): bool {
  const args = parse(req.bodyText());
  if (args.error.length > 0) return fail(resp, args.error);
  if (!args.hasA || !args.hasB) return fail(resp, "a and b are required numbers");
  let r: f64;
  const op = args.op;
  if (op == "add" || op == "+") r = args.a + args.b;
  else if (op == "subtract" || op == "-") r = args.a - args.b;
  else if (op == "multiply" || op == "*") r = args.a * args.b;
  else if (op == "divide" || op == "/") {
    if (args.b == 0) return fail(resp, "division by zero");
    r = args.a / args.b;
  } else return fail(resp, "op must be add, subtract, multiply or divide");
  if (!isFinite(r)) return fail(resp, "result is not a finite number");
  resp.writeJSON(200, "{\"result\":" + number(r) + "}");
  return false; // we wrote the response
}

handleRequest(calc);
