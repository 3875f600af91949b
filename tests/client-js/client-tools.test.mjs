// Mastra client tools: the model asks for a tool that the CLIENT runs; the
// turn ends with finish reason "tool-calls", client-js runs the tool and
// sends the result back, and the server continues the run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MastraClient } from '@mastra/client-js';

const carol = new MastraClient({ baseUrl: process.env.MASTRA_URL, headers: { Authorization: `Bearer ${process.env.CAROL_TOKEN}` }, retries: 0 });
const resource = 'res-carol';

const seen = [];
const clientWeather = {
  id: 'clientWeather',
  description: 'client side weather',
  inputSchema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'], additionalProperties: false },
  execute: async (args) => {
    seen.push(args);
    return { city: args.city, tempC: 30 };
  },
};

test('client tool round trip over stream', async () => {
  seen.length = 0;
  const agent = carol.getAgent('ctool');
  const thread = `ct-${Date.now()}`;
  const response = await agent.stream('weather in rome?', { memory: { thread, resource }, clientTools: { clientWeather } });
  const chunks = [];
  let text = '';
  await response.processDataStream({
    onChunk: async (c) => {
      chunks.push(c);
      if (c.type === 'text-delta') text += c.payload.text;
    },
  });
  assert.deepEqual(seen, [{ city: 'Rome' }]);
  const call = chunks.find((c) => c.type === 'tool-call');
  assert.equal(call.payload.toolName, 'clientWeather');
  assert.equal(call.payload.toolCallId, 'ccall_1');
  assert.deepEqual(call.payload.args, { city: 'Rome' });
  assert.deepEqual(chunks.filter((c) => c.type === 'finish').map((c) => c.payload.stepResult.reason), ['tool-calls', 'stop']);
  assert.deepEqual(chunks.find((c) => c.type === 'tool-result').payload.result, { city: 'Rome', tempC: 30 });
  assert.equal(text, 'Tool said: {"city":"Rome","tempC":30}');

  // The whole exchange is in the thread: question, pending call, result, answer.
  const { messages } = await carol.getMemoryThread({ threadId: thread, agentId: 'ctool' }).listMessages();
  const parts = messages.flatMap((m) => m.content.parts.map((p) => p.type));
  assert.ok(parts.includes('tool-invocation'), `stored parts: ${parts}`);
  assert.equal(messages.at(-1).content.content, 'Tool said: {"city":"Rome","tempC":30}');
});

test('client tool round trip over generate', async () => {
  seen.length = 0;
  const g = await carol.getAgent('ctool').generate('weather in rome?', {
    memory: { thread: `ct-g-${Date.now()}`, resource },
    clientTools: { clientWeather },
  });
  assert.deepEqual(seen, [{ city: 'Rome' }]);
  assert.equal(g.finishReason, 'stop');
  assert.equal(g.text, 'Tool said: {"city":"Rome","tempC":30}');
});
