// A stand-in for an OpenAI-compatible model server (streamed chat
// completions only). Offered the working-memory tool on a user's message, it
// calls it with {"memory": "# Notes\n- likes tea"}; once the tool result is
// back it answers "Noted." Asked to "count slowly", it counts to ten, a word
// every 60 ms (a turn still running when its client comes back). Prints
// FAKE_URL=… when listening.
import http from 'node:http';

const srv = http.createServer(async (req, res) => {
  let body = '';
  for await (const c of req) body += c;
  const r = JSON.parse(body);
  const last = r.messages.at(-1);
  let text = 'Noted.';
  let calls = [];
  if (last.role === 'user' && r.tools?.some((t) => t.function.name === 'updateWorkingMemory')) {
    text = null;
    calls = [{ id: 'wcall_1', name: 'updateWorkingMemory', args: JSON.stringify({ memory: '# Notes\n- likes tea' }) }];
  }
  const slow = last.role === 'user' && String(last.content).includes('count slowly');
  if (slow) text = 'one two three four five six seven eight nine ten';
  const finish = calls.length ? 'tool_calls' : 'stop';
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  const send = (delta, fr = null) =>
    res.write(`data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', choices: [{ index: 0, delta, finish_reason: fr }] })}\n\n`);
  if (text) {
    for (const w of text.split(/(?<= )/)) {
      send({ content: w });
      if (slow) await new Promise((r) => setTimeout(r, 60));
    }
  }
  calls.forEach((c, i) => {
    send({ tool_calls: [{ index: i, id: c.id, type: 'function', function: { name: c.name, arguments: '' } }] });
    for (let j = 0; j < c.args.length; j += 5) send({ tool_calls: [{ index: i, function: { arguments: c.args.slice(j, j + 5) } }] });
  });
  send({}, finish);
  const usage = { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 };
  res.end(`data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', choices: [], usage })}\n\ndata: [DONE]\n\n`);
});
srv.listen(0, '127.0.0.1', () => console.log(`FAKE_URL=http://127.0.0.1:${srv.address().port}/v1`));
