// @mastra/client-js against a real mastra-server (started by run.sh):
// every client call an app makes, with the values they return, and a
// second tenant that must see none of the first one's data.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MastraClient } from '@mastra/client-js';

const baseUrl = process.env.MASTRA_URL;
assert.ok(baseUrl, 'MASTRA_URL is not set: run this through run.sh');

// retries: 0 so a 5xx fails at once instead of repeating the run.
const client = (token) =>
  new MastraClient({ baseUrl, retries: 0, headers: token ? { Authorization: `Bearer ${token}` } : {} });
const alice = client(process.env.ALICE_TOKEN);
const bob = client(process.env.BOB_TOKEN);

const agentId = 'assistant';
const threadId = `thread-${Date.now()}`;
const resource = 'claimed-by-client'; // the token's resource (res-alice) wins

async function rejectsWith(promise, status) {
  await assert.rejects(promise, (err) => {
    assert.equal(err.name, 'MastraClientError', String(err));
    assert.equal(err.status, status, err.message);
    return true;
  });
}

test('listAgents and details', async () => {
  const agents = await alice.listAgents();
  assert.deepEqual(Object.keys(agents).sort(), ['approver', agentId, 'ctool', 'netapprover', 'netboss', 'wmres', 'wmthread']);
  assert.equal(agents[agentId].id, agentId);
  assert.equal(agents[agentId].name, 'Assistant');
  assert.equal(agents[agentId].modelVersion, 'v2');

  const details = await alice.getAgent(agentId).details();
  assert.equal(details.name, 'Assistant');
  assert.equal(details.instructions, 'You are a helpful assistant.');
  assert.equal(details.provider, 'echo');
  assert.equal(details.supportsMemory, true);
  assert.deepEqual(details.tools, {});

  await rejectsWith(alice.getAgent('ghost').details(), 404);
});

test('generate with memory', async () => {
  const res = await alice.getAgent(agentId).generate('hello there', { memory: { thread: threadId, resource } });
  assert.equal(res.text, 'Echo: hello there');
  assert.equal(res.finishReason, 'stop');
  assert.equal(res.threadId, threadId);
  assert.equal(res.resourceId, 'res-alice');
  assert.ok(res.runId);
  assert.ok(res.usage.totalTokens > 0);
  assert.equal(res.response.messages[0].role, 'assistant');
});

test('stream with processDataStream, same text as generate', async () => {
  const agent = alice.getAgent(agentId);
  const response = await agent.stream('stream me', { memory: { thread: { id: threadId }, resource } });
  assert.equal(response.headers.get('content-type'), 'text/event-stream');
  const types = [];
  let text = '';
  let finish;
  await response.processDataStream({
    onChunk: async (chunk) => {
      types.push(chunk.type);
      if (chunk.type === 'text-delta') text += chunk.payload.text;
      if (chunk.type === 'finish') finish = chunk;
    },
  });
  assert.equal(types[0], 'start');
  assert.equal(types.at(-1), 'finish');
  assert.equal(finish.payload.stepResult.reason, 'stop');
  assert.equal(text, 'Echo: stream me');

  const generated = await agent.generate('stream me');
  assert.equal(text, generated.text);
});

test('listMemoryThreads', async () => {
  const list = await alice.listMemoryThreads({ resourceId: 'res-alice', agentId });
  assert.equal(list.page, 0);
  assert.equal(list.perPage, 100);
  assert.equal(list.hasMore, false);
  assert.equal(list.total, 1);
  assert.equal(list.threads[0].id, threadId);
  assert.equal(list.threads[0].resourceId, 'res-alice');
  assert.equal(list.threads[0].title, '');

  const paged = await alice.listMemoryThreads({ agentId, page: 0, perPage: 1, orderBy: { field: 'updatedAt', direction: 'DESC' } });
  assert.equal(paged.threads.length, 1);
  assert.equal(paged.perPage, 1);
});

test('getMemoryThread: get and listMessages', async () => {
  const thread = alice.getMemoryThread({ threadId, agentId });
  const t = await thread.get();
  assert.equal(t.id, threadId);
  assert.equal(t.resourceId, 'res-alice');
  assert.ok(Date.parse(t.updatedAt) >= Date.parse(t.createdAt));

  const page = await thread.listMessages();
  assert.equal(page.total, 4); // two turns: generate, stream
  assert.equal(page.page, 0);
  assert.equal(page.perPage, 40);
  assert.equal(page.hasMore, false);
  assert.equal(page.uiMessages, null);
  const texts = page.messages.map((m) => [m.role, m.content.content]);
  assert.deepEqual(texts, [
    ['user', 'hello there'],
    ['assistant', 'Echo: hello there'],
    ['user', 'stream me'],
    ['assistant', 'Echo: stream me'],
  ]);
  assert.equal(page.messages[0].content.format, 2);
  assert.equal(page.messages[0].threadId, threadId);

  const newest = await thread.listMessages({ page: 0, perPage: 2, orderBy: { field: 'createdAt', direction: 'DESC' } });
  assert.equal(newest.messages.length, 2);
  assert.equal(newest.messages[0].content.content, 'Echo: stream me');
  assert.equal(newest.hasMore, true);

  await rejectsWith(alice.getMemoryThread({ threadId: 'no-such-thread', agentId }).get(), 404);
});

test('createMemoryThread, update, delete, status, config', async () => {
  const created = await alice.createMemoryThread({
    agentId, resourceId: 'res-alice', title: 'Created', metadata: { topic: 'trip' }, threadId: `${threadId}-new`,
  });
  assert.equal(created.id, `${threadId}-new`);
  assert.equal(created.title, 'Created');
  assert.deepEqual(created.metadata, { topic: 'trip' });

  const thread = alice.getMemoryThread({ threadId: created.id, agentId });
  const updated = await thread.update({ title: 'Renamed', metadata: { b: 2 }, resourceId: 'res-alice' });
  assert.equal(updated.title, 'Renamed');
  assert.deepEqual(updated.metadata, { b: 2 });
  assert.ok(Date.parse(updated.updatedAt) >= Date.parse(created.updatedAt));

  const filtered = await alice.listMemoryThreads({ agentId, metadata: { b: 2 } });
  assert.deepEqual(filtered.threads.map((t) => t.id), [created.id]);

  assert.deepEqual(await alice.getMemoryStatus(agentId), { result: true, memoryType: 'local' });
  const { config } = await alice.getMemoryConfig({ agentId });
  assert.equal(config.lastMessages, 10);

  assert.deepEqual(await thread.delete(), { result: 'Thread deleted' });
  await rejectsWith(thread.get(), 404);
  await rejectsWith(alice.createMemoryThread({ agentId: 'ghost', resourceId: 'res-alice' }), 404);
});

test('another tenant sees nothing of the first', async () => {
  const list = await bob.listMemoryThreads({ resourceId: 'res-alice', agentId });
  assert.equal(list.total, 0);
  const viaContext = await bob.listMemoryThreads({ agentId, requestContext: { mastra__resourceId: 'res-alice' } });
  assert.equal(viaContext.total, 0);

  const stolen = bob.getMemoryThread({ threadId, agentId });
  await rejectsWith(stolen.get(), 404);
  await rejectsWith(stolen.listMessages({ resourceId: 'res-alice' }), 404);
  await rejectsWith(stolen.update({ title: 'pwned', resourceId: 'res-bob' }), 404);
  await rejectsWith(stolen.delete(), 404);
  // Thread ids are global (Mastra's schema): a turn on a taken id is the
  // same 409 whoever holds it, and says nothing more about the thread.
  await rejectsWith(bob.getAgent(agentId).generate('let me in', { memory: { thread: threadId, resource: 'res-alice' } }), 409);
  await rejectsWith(bob.getAgent(agentId).stream('let me in', { memory: { thread: threadId, resource: 'res-alice' } }), 409);

  // Bob's own turn lands in his resource, whatever he names.
  const own = await bob.getAgent(agentId).generate('mine', { memory: { thread: `${threadId}-bob`, resource: 'res-alice' } });
  assert.equal(own.resourceId, 'res-bob');

  // Alice's thread is untouched.
  const t = await alice.getMemoryThread({ threadId, agentId }).get();
  assert.equal(t.title, '');
  const mine = await alice.listMemoryThreads({ agentId });
  assert.deepEqual(mine.threads.map((x) => x.id), [threadId]);
});

test('no token or a wrong one is 401', async () => {
  await rejectsWith(client(undefined).listAgents(), 401);
  await rejectsWith(client('wrong-token').listMemoryThreads({ agentId }), 401);
  const health = await fetch(`${baseUrl}/health`);
  assert.equal(health.status, 200);
});
