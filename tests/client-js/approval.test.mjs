// Tool approval (human in the loop) through client-js: the agent "approver"
// requires approval of every tool call. A turn stops at tool-call-approval;
// listSuspendedRuns lists it; approveToolCall / declineToolCall (streamed)
// and their -Generate forms resume it; a second approval is refused; Bob
// (another token) neither lists nor resolves Alice's run.
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

test('approveToolCall resumes a suspended stream and runs the tool', async () => {
  const agent = dave.getAgent('approver');
  const thread = `ap-${Date.now()}`;
  const chunks = await chunksOf(await agent.stream('weather in rome?', { memory: { thread, resource } }));
  const ap = chunks.find((c) => c.type === 'tool-call-approval');
  assert.ok(ap, `chunks: ${chunks.map((c) => c.type)}`);
  assert.equal(ap.payload.toolName, 'weather');
  assert.deepEqual(ap.payload.args, { city: 'Rome' });
  assert.equal(chunks.at(-1).payload.stepResult.reason, 'suspended');
  const { runId } = ap;
  const { toolCallId } = ap.payload;

  const listed = await agent.listSuspendedRuns({ threadId: thread });
  assert.equal(listed.total, 1);
  assert.equal(listed.runs[0].runId, runId);
  assert.equal(listed.runs[0].toolCalls[0].requiresApproval, true);

  const bobs = await bob.getAgent('approver').listSuspendedRuns({});
  assert.ok(!bobs.runs.some((r) => r.runId === runId), 'bob lists dave\'s run');
  await assert.rejects(bob.getAgent('approver').approveToolCallGenerate({ runId, toolCallId }), /404/);

  const resumed = await chunksOf(await agent.approveToolCall({ runId, toolCallId }));
  const result = resumed.find((c) => c.type === 'tool-result');
  assert.equal(result.payload.result.city, 'Rome');
  const text = resumed.filter((c) => c.type === 'text-delta').map((c) => c.payload.text).join('');
  assert.match(text, /^Tool said: \{"city":"Rome"/);
  assert.equal(resumed.at(-1).payload.stepResult.reason, 'stop');

  await assert.rejects(agent.approveToolCallGenerate({ runId, toolCallId }), /409/);
  assert.equal((await agent.listSuspendedRuns({ threadId: thread })).total, 0);
  const { messages } = await dave.getMemoryThread({ threadId: thread, agentId: 'approver' }).listMessages();
  assert.match(messages.at(-1).content.content, /^Tool said:/);
});

test('declineToolCall: the model is told, the tool does not run', async () => {
  const agent = dave.getAgent('approver');
  const chunks = await chunksOf(await agent.stream('weather?', { memory: { thread: `dc-${Date.now()}`, resource } }));
  const ap = chunks.find((c) => c.type === 'tool-call-approval');
  const resumed = await chunksOf(await agent.declineToolCall({ runId: ap.runId, toolCallId: ap.payload.toolCallId, reason: 'not today' }));
  const denied = resumed.find((c) => c.type === 'tool-output-denied');
  assert.equal(denied.payload.approval.approved, false);
  assert.equal(resumed.find((c) => c.type === 'tool-result'), undefined);
  const text = resumed.filter((c) => c.type === 'text-delta').map((c) => c.payload.text).join('');
  assert.equal(text, 'Tool said: "not today"');
});

test('generate suspends; approveToolCallGenerate and declineToolCallGenerate answer as generate', async () => {
  const agent = dave.getAgent('approver');
  const g = await agent.generate('weather?', { memory: { thread: `g-${Date.now()}`, resource } });
  assert.equal(g.finishReason, 'suspended');
  assert.equal(g.suspendPayload.toolName, 'weather');
  const ok = await agent.approveToolCallGenerate({ runId: g.runId, toolCallId: g.suspendPayload.toolCallId });
  assert.equal(ok.finishReason, 'stop');
  assert.match(ok.text, /^Tool said: \{"city":"Rome"/);

  const g2 = await agent.generate('weather?', { memory: { thread: `g2-${Date.now()}`, resource } });
  const no = await agent.declineToolCallGenerate({ runId: g2.runId, toolCallId: g2.suspendPayload.toolCallId });
  assert.equal(no.text, 'Tool said: "Tool call was not approved by the user"');
});
