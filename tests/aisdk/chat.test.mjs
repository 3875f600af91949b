// The AI SDK's own client code reads POST /chat/:agentId: DefaultChatTransport
// (what useChat sends and how it parses the answer, chunk schema included)
// and readUIMessageStream (how useChat builds the assistant message).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { DefaultChatTransport, readUIMessageStream } from 'ai';

const URL = process.env.MASTRA_URL;
const auth = (tok) => ({ Authorization: `Bearer ${tok}` });
const ALICE = auth(process.env.ALICE_TOKEN);
const BOB = auth(process.env.BOB_TOKEN);

const userMsg = (text) => ({ id: randomUUID(), role: 'user', parts: [{ type: 'text', text }] });

// turn sends messages as useChat does and reads the answer as useChat does:
// the last state of the assistant message and every raw chunk. A chunk the
// SDK cannot parse, or an error chunk, fails the turn.
async function turn({ agent, headers, chatId, messages, body }) {
  const transport = new DefaultChatTransport({ api: `${URL}/chat/${agent}`, headers, body });
  const stream = await transport.sendMessages({ trigger: 'submit-message', chatId, messageId: undefined, messages, abortSignal: undefined });
  const [forMessage, forChunks] = stream.tee();
  const chunks = [];
  const collect = (async () => { for await (const c of forChunks) chunks.push(c); })();
  let message;
  for await (const m of readUIMessageStream({ stream: forMessage, terminateOnError: true })) message = m;
  await collect;
  return { message, chunks };
}

const textOf = (message) => message.parts.filter((p) => p.type === 'text').map((p) => p.text).join('');

async function savedTexts(threadId, agent) {
  const r = await fetch(`${URL}/api/memory/threads/${threadId}/messages?agentId=${agent}`, { headers: ALICE });
  assert.equal(r.status, 200, await r.clone().text());
  const { messages } = await r.json();
  return messages.map((m) => `${m.role}: ${(m.content?.parts ?? []).filter((p) => p.type === 'text').map((p) => p.text).join('')}`);
}

test('echo: text through the AI SDK, only the new message saved', async () => {
  const chatId = `chat-${randomUUID()}`;
  const first = userMsg('hello there');
  const a = await turn({ agent: 'assistant', headers: ALICE, chatId, messages: [first] });
  assert.equal(a.message.role, 'assistant');
  assert.equal(textOf(a.message), 'Echo: hello there');
  const types = a.chunks.map((c) => c.type);
  assert.deepEqual([types[0], types[1], types.at(-2), types.at(-1)], ['start', 'start-step', 'finish-step', 'finish']);
  assert.equal(a.chunks.at(-1).finishReason, 'stop');

  // useChat resends the whole conversation with the next message.
  const second = userMsg('once more');
  const b = await turn({ agent: 'assistant', headers: ALICE, chatId, messages: [first, a.message, second] });
  assert.equal(textOf(b.message), 'Echo: once more');
  assert.deepEqual(await savedTexts(chatId, 'assistant'),
    ['user: hello there', 'assistant: Echo: hello there', 'user: once more', 'assistant: Echo: once more']);
});

test('tool call: tool part with input and output, then text', async () => {
  const chatId = `chat-${randomUUID()}`;
  const { message, chunks } = await turn({ agent: 'notes', headers: ALICE, chatId, messages: [userMsg('I like tea')] });
  const tool = message.parts.find((p) => p.type === 'tool-updateWorkingMemory');
  assert.ok(tool, `no tool part in ${JSON.stringify(message.parts)}`);
  assert.equal(tool.state, 'output-available');
  assert.deepEqual(tool.input, { memory: '# Notes\n- likes tea' });
  assert.notEqual(tool.output, undefined);
  assert.equal(textOf(message), 'Noted.');
  assert.equal(chunks.filter((c) => c.type === 'start-step').length, 2);
  assert.equal(chunks.at(-1).finishReason, 'stop');
});

test('scoping: the caller is the resource, not the body; a taken chat id is refused', async () => {
  const chatId = `chat-${randomUUID()}`;
  await turn({ agent: 'assistant', headers: ALICE, chatId, messages: [userMsg('alice-secret')] });
  await assert.rejects(
    turn({ agent: 'assistant', headers: BOB, chatId, messages: [userMsg('bob asks')], body: { resourceId: 'res-alice' } }),
    (err) => !String(err).includes('alice-secret'),
  );
  assert.deepEqual(await savedTexts(chatId, 'assistant'), ['user: alice-secret', 'assistant: Echo: alice-secret']);
});

test('reconnect: no running turn, so no stream (204)', async () => {
  const transport = new DefaultChatTransport({ api: `${URL}/chat/assistant`, headers: ALICE });
  assert.equal(await transport.reconnectToStream({ chatId: `chat-${randomUUID()}` }), null);
});

test('reconnect: a resumable turn cut mid-stream is replayed whole, then followed live', async () => {
  const chatId = `chat-${randomUUID()}`;
  const transport = new DefaultChatTransport({ api: `${URL}/chat/counter`, headers: ALICE, body: { resumable: true } });
  const abort = new AbortController();
  const stream = await transport.sendMessages({ trigger: 'submit-message', chatId, messageId: undefined,
    messages: [userMsg('count slowly')], abortSignal: abort.signal });
  const reader = stream.getReader();
  let first;
  do first = await reader.read(); while (first.value?.type !== 'text-delta');
  abort.abort(); // the tab reloads
  await reader.cancel().catch(() => {});
  const resumed = await transport.reconnectToStream({ chatId });
  assert.notEqual(resumed, null, 'the running turn was not found');
  let message;
  for await (const m of readUIMessageStream({ stream: resumed, terminateOnError: true })) message = m;
  assert.equal(textOf(message), 'one two three four five six seven eight nine ten');
  assert.equal(await transport.reconnectToStream({ chatId }), null); // over: 204
  assert.deepEqual(await savedTexts(chatId, 'counter'), ['user: count slowly', 'assistant: one two three four five six seven eight nine ten']);
});
