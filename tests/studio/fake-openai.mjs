// A stand-in for an OpenAI-compatible model (streamed chat completions) for
// Studio's forecaster agent: offered the weather tool on a user's message,
// it calls it with {"city":"Oslo"} (a blank city when the message says
// "nowhere"); once the result is back it answers
// "Forecast: <result>". Prints FAKE_URL=… when listening.
import http from "node:http";

const srv = http.createServer(async (req, res) => {
  let body = "";
  for await (const c of req) body += c;
  const r = JSON.parse(body);
  const last = r.messages.at(-1);
  let text = "No forecast.";
  let call = null;
  if (last.role === "tool") text = `Forecast: ${last.content}`;
  else if (r.tools?.some((t) => t.function.name === "weather")) {
    // A city of blanks passes the tool's schema and fails the tool: the
    // server logs "agent: tool failed" inside the turn's span.
    const nowhere = JSON.stringify(last.content).includes("nowhere");
    call = { id: "call_weather_1", args: nowhere ? '{"city":" "}' : '{"city":"Oslo"}' };
  }
  res.writeHead(200, { "content-type": "text/event-stream" });
  const send = (delta, finish = null) =>
    res.write(`data: ${JSON.stringify({ id: "c1", object: "chat.completion.chunk", choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`);
  if (call) {
    send({ tool_calls: [{ index: 0, id: call.id, type: "function", function: { name: "weather", arguments: call.args } }] });
  } else {
    for (const w of text.split(/(?<= )/)) send({ content: w });
  }
  send({}, call ? "tool_calls" : "stop");
  const usage = { prompt_tokens: 12, completion_tokens: 6, total_tokens: 18 };
  res.end(`data: ${JSON.stringify({ id: "c1", object: "chat.completion.chunk", choices: [], usage })}\n\ndata: [DONE]\n\n`);
});
srv.listen(0, "127.0.0.1", () => console.log(`FAKE_URL=http://127.0.0.1:${srv.address().port}/v1`));
