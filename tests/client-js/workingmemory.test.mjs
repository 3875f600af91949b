// Working memory through @mastra/client-js's getWorkingMemory and
// updateWorkingMemory (run.sh starts the server): resource scope (wmres, one
// per user, shared by their threads) and thread scope (wmthread), and a
// second tenant that can neither read nor write the first one's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MastraClient } from '@mastra/client-js';

const baseUrl = process.env.MASTRA_URL;
assert.ok(baseUrl, 'MASTRA_URL is not set: run this through run.sh');

const client = (token) => new MastraClient({ baseUrl, retries: 0, headers: { Authorization: `Bearer ${token}` } });
const alice = client(process.env.ALICE_TOKEN);
const bob = client(process.env.BOB_TOKEN);
const stamp = Date.now();

async function rejectsWith(promise, status) {
  await assert.rejects(promise, (err) => {
    assert.equal(err.name, 'MastraClientError', String(err));
    assert.equal(err.status, status, err.message);
    return true;
  });
}

async function newThread(c, agentId, resourceId, threadId) {
  const t = await c.createMemoryThread({ agentId, resourceId, threadId, title: threadId });
  assert.equal(t.id, threadId);
  return threadId;
}

test('resource scope: a round trip, shared by the user\'s threads, not by another user', async () => {
  const agentId = 'wmres';
  const t1 = await newThread(alice, agentId, 'res-alice', `wm-res-1-${stamp}`);
  const t2 = await newThread(alice, agentId, 'res-alice', `wm-res-2-${stamp}`);

  const empty = await alice.getWorkingMemory({ agentId, threadId: t1, resourceId: 'res-alice' });
  assert.equal(empty.workingMemory, null);
  assert.equal(empty.source, 'resource');
  assert.equal(empty.threadExists, true);
  assert.deepEqual(empty.workingMemoryTemplate, { format: 'markdown', content: '# User\n- Name:\n- City:' });

  const text = '# User\n- Name: Alice\n- City: Lyon';
  assert.deepEqual(await alice.updateWorkingMemory({ agentId, threadId: t1, workingMemory: text, resourceId: 'res-alice' }),
    { success: true });
  const got = await alice.getWorkingMemory({ agentId, threadId: t1, resourceId: 'res-alice' });
  assert.equal(got.workingMemory, text);
  assert.equal(got.source, 'resource');
  // One per resource: the user's other thread reads the same text.
  assert.equal((await alice.getWorkingMemory({ agentId, threadId: t2, resourceId: 'res-alice' })).workingMemory, text);

  // Bob, even naming alice's thread and resource, reads his own (none) and
  // cannot write hers.
  const theirs = await bob.getWorkingMemory({ agentId, threadId: t1, resourceId: 'res-alice' });
  assert.equal(theirs.workingMemory, null);
  assert.equal(theirs.threadExists, false);
  await rejectsWith(bob.updateWorkingMemory({ agentId, threadId: t1, workingMemory: '# pwned', resourceId: 'res-alice' }), 404);
  assert.equal((await alice.getWorkingMemory({ agentId, threadId: t1, resourceId: 'res-alice' })).workingMemory, text);

  // Bob's own memory stays apart from alice's.
  const b1 = await newThread(bob, agentId, 'res-bob', `wm-res-bob-${stamp}`);
  await bob.updateWorkingMemory({ agentId, threadId: b1, workingMemory: '# User\n- Name: Bob', resourceId: 'res-bob' });
  assert.equal((await bob.getWorkingMemory({ agentId, threadId: b1, resourceId: 'res-bob' })).workingMemory, '# User\n- Name: Bob');
  assert.equal((await alice.getWorkingMemory({ agentId, threadId: t2, resourceId: 'res-alice' })).workingMemory, text);
});

test('thread scope: a round trip per thread, stored in the thread\'s metadata', async () => {
  const agentId = 'wmthread';
  const t1 = await newThread(alice, agentId, 'res-alice', `wm-thr-1-${stamp}`);
  const t2 = await newThread(alice, agentId, 'res-alice', `wm-thr-2-${stamp}`);

  const text = '# Trip\n- Destination: Kyoto';
  assert.deepEqual(await alice.updateWorkingMemory({ agentId, threadId: t1, workingMemory: text }), { success: true });
  const got = await alice.getWorkingMemory({ agentId, threadId: t1, resourceId: 'res-alice' });
  assert.equal(got.workingMemory, text);
  assert.equal(got.source, 'thread');
  // The other thread has its own, none yet.
  assert.equal((await alice.getWorkingMemory({ agentId, threadId: t2, resourceId: 'res-alice' })).workingMemory, null);
  // Where Mastra keeps it: the thread's metadata.workingMemory.
  const thread = await alice.getMemoryThread({ threadId: t1, agentId }).get();
  assert.equal(thread.metadata.workingMemory, text);

  const theirs = await bob.getWorkingMemory({ agentId, threadId: t1, resourceId: 'res-alice' });
  assert.equal(theirs.workingMemory, null);
  assert.equal(theirs.threadExists, false);
  await rejectsWith(bob.updateWorkingMemory({ agentId, threadId: t1, workingMemory: '# pwned' }), 404);
  assert.equal((await alice.getWorkingMemory({ agentId, threadId: t1 })).workingMemory, text);
});

test('bad input: an agent without working memory, a missing thread', async () => {
  await rejectsWith(alice.updateWorkingMemory({ agentId: 'assistant', threadId: `wm-none-${stamp}`, workingMemory: 'x' }), 400);
  await rejectsWith(alice.updateWorkingMemory({ agentId: 'wmres', threadId: `wm-missing-${stamp}`, workingMemory: 'x' }), 404);
});
