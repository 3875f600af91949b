// Mastra's legacy agent network through client-js: Agent.network streams
// the network chunk families (routing-agent-*, agent-/tool-execution-*,
// network-*); a tool primitive that needs approval ends the stream at
// tool-execution-approval, and approveNetworkToolCall /
// declineNetworkToolCall (by run id only, as Mastra's) go on with it; Bob
// (another token) cannot resolve Dave's run; bad bodies are 400s.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MastraClient } from '@mastra/client-js';

const client = (token) => new MastraClient({ baseUrl: process.env.MASTRA_URL, headers: { Authorization: `Bearer ${token}` }, retries: 0 });
const dave = client(process.env.DAVE_TOKEN);
const bob = client(process.env.BOB_TOKEN);
const resource = 'res-dave';

async function chunksOf(response) {
  const chunks = [];
  await response.processDataStream({ onChunk: async (c) => chunks.push(c) });
  return chunks;
}

const types = (chunks) => chunks.map((c) => c.type);

test('network routes to a sub-agent and finishes', async () => {
  const thread = `net-${Date.now()}`;
  const chunks = await chunksOf(await dave.getAgent('netboss').network('weather in rome?', { memory: { thread, resource } }));
  const t = types(chunks);
  for (const want of ['routing-agent-start', 'routing-agent-end', 'agent-execution-start', 'agent-execution-event-text-delta',
    'agent-execution-end', 'network-execution-event-step-finish', 'network-validation-end', 'network-execution-event-finish']) {
    assert.ok(t.includes(want), `no ${want} in ${t}`);
  }
  assert.ok(chunks.every((c) => c.from === 'NETWORK' && c.runId === chunks[0].runId), 'every chunk is the network run\'s');
  const route = chunks.find((c) => c.type === 'routing-agent-end');
  assert.equal(route.payload.primitiveType, 'agent');
  assert.equal(route.payload.primitiveId, 'assistant');
  assert.equal(route.payload.selectionReason, 'The assistant answers questions. ');
  const exec = chunks.find((c) => c.type === 'agent-execution-start');
  const inner = chunks.find((c) => c.type === 'agent-execution-event-text-delta');
  assert.equal(inner.payload.runId, exec.payload.runId);
  const end = chunks.find((c) => c.type === 'agent-execution-end');
  assert.match(end.payload.result, /^Echo: /);
  const fin = chunks.at(-1);
  assert.equal(fin.type, 'network-execution-event-finish');
  assert.equal(fin.payload.isComplete, true);
  assert.equal(fin.payload.task, 'weather in rome?');
  assert.equal(fin.payload.threadId, thread);
  assert.match(fin.payload.result, /^Tool said: Echo: /);
  const { messages } = await dave.getMemoryThread({ threadId: thread, agentId: 'netboss' }).listMessages();
  assert.equal(messages.length, 2);
});

test('approveNetworkToolCall runs the waiting tool primitive; bob cannot', async () => {
  const agent = dave.getAgent('netapprover');
  const chunks = await chunksOf(await agent.network('weather?', { memory: { thread: `neta-${Date.now()}`, resource } }));
  const ap = chunks.at(-1);
  assert.equal(ap.type, 'tool-execution-approval', `chunks: ${types(chunks)}`);
  assert.equal(ap.payload.toolName, 'weather');
  assert.deepEqual(ap.payload.args, { city: 'Rome' });
  const runId = chunks[0].runId;

  await assert.rejects(bob.getAgent('netapprover').approveNetworkToolCall({ runId }), /404/);

  const resumed = await chunksOf(await agent.approveNetworkToolCall({ runId }));
  const end = resumed.find((c) => c.type === 'tool-execution-end');
  assert.equal(end.payload.result.city, 'Rome');
  const fin = resumed.at(-1);
  assert.equal(fin.type, 'network-execution-event-finish');
  assert.match(fin.payload.result, /^Tool said: \{"city":"Rome"/);
  await assert.rejects(agent.approveNetworkToolCall({ runId }), /409/);
});

test('declineNetworkToolCall tells the routing agent', async () => {
  const agent = dave.getAgent('netapprover');
  const chunks = await chunksOf(await agent.network('weather?', { memory: { thread: `netd-${Date.now()}`, resource } }));
  const resumed = await chunksOf(await agent.declineNetworkToolCall({ runId: chunks[0].runId, reason: 'not today' }));
  assert.equal(resumed.find((c) => c.type === 'tool-execution-end').payload.result, 'not today');
  assert.equal(resumed.at(-1).payload.result, 'Tool said: "not today"');
});

test('network refuses what it cannot honour with a 400', async () => {
  const agent = dave.getAgent('netboss');
  await assert.rejects(agent.network('hi', { completion: { scorers: [{ id: 'x' }] } }), /400/);
  await assert.rejects(agent.network(undefined, {}), /400/);
});
