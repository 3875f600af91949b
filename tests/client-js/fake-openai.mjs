// A stand-in for an OpenAI-compatible model server, speaking the real
// chat-completions wire format (whole and SSE). It calls the client tool
// "clientWeather" when offered (or else the sub-agent "agent-assistant", or
// else the server tool "weather"), and
// answers with the tool's result once the result comes back. Asked for a
// json_schema response format, it answers {"city": "Rome", "tempC": 21}.
// Prints FAKE_URL=… when listening.
import http from 'node:http';

const srv = http.createServer(async (req, res) => {
  let body = '';
  for await (const c of req) body += c;
  const r = JSON.parse(body);
  const last = r.messages.at(-1);
  let text = 'ok';
  let calls = [];
  if (r.response_format?.type === 'json_schema') text = '{"city": "Rome", "tempC": 21}';
  else if (last.role === 'tool') text = `Tool said: ${last.content}`;
  else if (r.tools?.some((t) => t.function.name === 'clientWeather')) {
    text = null;
    calls = [{ id: 'ccall_1', name: 'clientWeather', args: '{"city":"Rome"}' }];
  } else if (r.tools?.some((t) => t.function.name === 'agent-assistant')) {
    // A supervisor or network (network.test.mjs): delegate the question.
    text = 'The assistant answers questions. ';
    calls = [{ id: 'acall_1', name: 'agent-assistant', args: JSON.stringify({ prompt: `${last.content}` }) }];
  } else if (r.tools?.some((t) => t.function.name === 'weather')) {
    text = null;
    calls = [{ id: 'wcall_1', name: 'weather', args: '{"city":"Rome"}' }];
  }
  const finish = calls.length ? 'tool_calls' : 'stop';
  const usage = { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 };
  if (!r.stream) {
    res.writeHead(200, { 'content-type': 'application/json' });
    const message = { role: 'assistant', content: text };
    if (calls.length) message.tool_calls = calls.map((c) => ({ id: c.id, type: 'function', function: { name: c.name, arguments: c.args } }));
    res.end(JSON.stringify({ id: 'c1', object: 'chat.completion', model: 'gpt-test', usage, choices: [{ index: 0, finish_reason: finish, message }] }));
    return;
  }
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  const send = (delta, fr = null) =>
    res.write(`data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', choices: [{ index: 0, delta, finish_reason: fr }] })}\n\n`);
  if (text) for (const w of text.split(/(?<= )/)) send({ content: w });
  calls.forEach((c, i) => {
    send({ tool_calls: [{ index: i, id: c.id, type: 'function', function: { name: c.name, arguments: '' } }] });
    for (let j = 0; j < c.args.length; j += 4) send({ tool_calls: [{ index: i, function: { arguments: c.args.slice(j, j + 4) } }] });
  });
  send({}, finish);
  res.end(`data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', choices: [], usage })}\n\ndata: [DONE]\n\n`);
});
srv.listen(0, '127.0.0.1', () => console.log(`FAKE_URL=http://127.0.0.1:${srv.address().port}/v1`));
