// A stand-in for an OpenAI-compatible model (whole answers only): offered
// tools ending in "_echo", it calls each once with {"message": "hi from
// <tool>"}; given their results, it answers with them, one per line.
// Prints FAKE_URL=… when listening.
import http from 'node:http';

const srv = http.createServer(async (req, res) => {
  let body = '';
  for await (const c of req) body += c;
  const r = JSON.parse(body);
  const results = r.messages.filter((m) => m.role === 'tool').map((m) => m.content);
  const message = { role: 'assistant', content: null };
  let finish = 'stop';
  if (results.length) message.content = results.join('\n');
  else {
    const echoes = (r.tools ?? []).map((t) => t.function.name).filter((n) => n.endsWith('_echo'));
    message.tool_calls = echoes.map((name, i) => ({
      id: `call_${i}`, type: 'function', function: { name, arguments: JSON.stringify({ message: `hi from ${name}` }) },
    }));
    finish = 'tool_calls';
    if (!echoes.length) message.content = 'no echo tools offered';
  }
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ id: 'c1', object: 'chat.completion', model: 'fake', choices: [{ index: 0, finish_reason: finish, message }],
    usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 } }));
});
srv.listen(0, '127.0.0.1', () => console.log(`FAKE_URL=http://127.0.0.1:${srv.address().port}/v1`));
