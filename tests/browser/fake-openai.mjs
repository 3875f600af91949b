// A stand-in for an OpenAI-compatible model (streamed chat completions):
// offered the calc tool on a user's message, it calls it with
// {"a":2,"b":3,"op":"add"}; once the result is back it answers
// "The sum is <result>." Prints FAKE_URL=… when listening.
import http from "node:http";

const srv = http.createServer(async (req, res) => {
  let body = "";
  for await (const c of req) body += c;
  const r = JSON.parse(body);
  const last = r.messages.at(-1);
  let text = "ok";
  let call = null;
  if (last.role === "tool") text = `The sum is ${last.content}.`;
  else if (r.tools?.some((t) => t.function.name === "calc")) call = { id: "call_calc_1", args: '{"a":2,"b":3,"op":"add"}' };
  res.writeHead(200, { "content-type": "text/event-stream" });
  const send = (delta, finish = null) =>
    res.write(`data: ${JSON.stringify({ id: "c1", object: "chat.completion.chunk", choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`);
  if (call) {
    send({ tool_calls: [{ index: 0, id: call.id, type: "function", function: { name: "calc", arguments: "" } }] });
    for (let i = 0; i < call.args.length; i += 6) send({ tool_calls: [{ index: 0, function: { arguments: call.args.slice(i, i + 6) } }] });
  } else {
    for (const w of text.split(/(?<= )/)) send({ content: w });
  }
  send({}, call ? "tool_calls" : "stop");
  const usage = { prompt_tokens: 12, completion_tokens: 6, total_tokens: 18 };
  res.end(`data: ${JSON.stringify({ id: "c1", object: "chat.completion.chunk", choices: [], usage })}\n\ndata: [DONE]\n\n`);
});
srv.listen(0, "127.0.0.1", () => console.log(`FAKE_URL=http://127.0.0.1:${srv.address().port}/v1`));
