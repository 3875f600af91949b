// @mastra/client-js's Workflow and Run against a real mastra-server (run.sh
// configures the README's publish workflow: draft by the echo agent,
// suspend for approval, a short sleep, publish). Every call of Workflow and
// Run an app makes, with the values they return; streams are parsed by
// client-js's own record-separator transform.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MastraClient } from '@mastra/client-js';

const baseUrl = process.env.MASTRA_URL;
assert.ok(baseUrl, 'MASTRA_URL is not set: run this through run.sh');

const client = (token) =>
  new MastraClient({ baseUrl, retries: 0, headers: token ? { Authorization: `Bearer ${token}` } : {} });
const alice = client(process.env.ALICE_TOKEN);
const bob = client(process.env.BOB_TOKEN);
const wf = alice.getWorkflow('publish');

const draftText = (topic) => `Echo: Write a short post about ${topic}.`;

async function rejectsWith(promise, status) {
  await assert.rejects(promise, (err) => {
    assert.equal(err.name, 'MastraClientError', String(err));
    assert.equal(err.status, status, err.message);
    return true;
  });
}

// readAll reads a run stream to its end (the server closes it when the run
// finishes or suspends).
async function readAll(stream) {
  const chunks = [];
  for await (const chunk of stream) chunks.push(chunk);
  return chunks;
}

test('listWorkflows, details and getSchema', async () => {
  const all = await alice.listWorkflows();
  assert.deepEqual(Object.keys(all).sort(), ['outer', 'publish', 'review', 'tally']);
  assert.equal(all.publish.name, 'publish');
  assert.deepEqual(Object.keys(all.publish.steps).sort(), ['approve', 'draft', 'publish', 'wait']);
  assert.equal(all.publish.steps.draft.component, 'AGENT');

  const partial = await alice.listWorkflows(undefined, true);
  assert.equal(partial.publish.stepCount, 4);
  assert.deepEqual(partial.publish.steps, {});

  const details = await wf.details();
  assert.equal(details.description, 'Drafts a post on a topic, waits for approval, publishes it');
  assert.ok(Array.isArray(details.stepGraph) && details.stepGraph.length === 4, JSON.stringify(details.stepGraph));
  assert.equal(details.stepGraph[0].step.id, 'draft');

  const schema = await wf.getSchema();
  assert.deepEqual(schema.inputSchema.required, ['topic']);
  assert.equal(schema.outputSchema, null);

  await rejectsWith(alice.getWorkflow('ghost').details(), 404);
});

test('createRun, startAsync to the suspend, resumeAsync to the result', async () => {
  const run = await wf.createRun();
  assert.match(run.runId, /^[0-9a-f-]{36}$/);
  const suspended = await run.startAsync({ inputData: { topic: 'otters' } });
  assert.equal(suspended.status, 'suspended');
  assert.deepEqual(suspended.suspended, [['approve']]);
  assert.equal(suspended.steps.draft.output.text, draftText('otters'));
  assert.deepEqual(suspended.steps.approve.suspendPayload, { draft: draftText('otters') });

  const done = await run.resumeAsync({ step: 'approve', resumeData: { approved: true } });
  assert.equal(done.status, 'success');
  assert.deepEqual(done.result, { published: true, text: draftText('otters') });

  // Wrong input, resume of a finished run, start of a started one.
  const bad = await wf.createRun();
  await rejectsWith(bad.startAsync({ inputData: { subject: 'x' } }), 400);
  await rejectsWith(run.resumeAsync({ step: 'approve', resumeData: { approved: true } }), 409);
  await rejectsWith(run.start({ inputData: { topic: 'again' } }), 409);
});

test('start and resume answer at once; observe reads the run', async () => {
  const runId = `run-observe-${Date.now()}`;
  const run = await wf.createRun({ runId });
  assert.equal(run.runId, runId);
  // createRun of an existing id attaches to it.
  assert.equal((await wf.createRun({ runId })).runId, runId);

  assert.deepEqual(await run.start({ inputData: { topic: 'herons' } }), { message: 'Workflow run started' });
  const first = await readAll(await run.observe());
  assert.equal(first[0].type, 'workflow-start');
  assert.equal(first.at(-1).payload.workflowStatus, 'suspended');
  assert.ok(first.some((c) => c.type === 'workflow-step-suspended'), JSON.stringify(first.map((c) => c.type)));

  assert.deepEqual(await run.resume({ step: 'approve', resumeData: { approved: false } }), { message: 'Workflow run resumed' });
  const all = await readAll(await run.observe());
  assert.equal(all.at(-1).type, 'workflow-finish', JSON.stringify(all.map((c) => c.type)));
  assert.equal(all.at(-1).payload.workflowStatus, 'success');
  // From an offset: only what came after.
  const rest = await readAll(await run.observe({ offset: first.length }));
  assert.deepEqual(rest, all.slice(first.length));

  const got = await wf.runById(runId);
  assert.equal(got.status, 'success');
  assert.deepEqual(got.result, { published: false });
  assert.equal(got.resourceId, 'res-alice');
  assert.deepEqual(got.payload, { topic: 'herons' });
  const some = await wf.runById(runId, { fields: ['result'] });
  assert.deepEqual(some.result, { published: false });
  assert.equal(some.steps, undefined);
});

test('stream to the suspend, resumeStream to the end', async () => {
  const run = await wf.createRun();
  const chunks = await readAll(await run.stream({ inputData: { topic: 'kites' } }));
  const types = chunks.map((c) => c.type);
  assert.equal(types[0], 'workflow-start');
  assert.ok(types.includes('workflow-step-start'), JSON.stringify(types));
  assert.ok(types.includes('workflow-step-suspended'), JSON.stringify(types));
  // Mastra ends a suspended run's stream with workflow-finish, status suspended.
  assert.equal(chunks.at(-1).type, 'workflow-finish');
  assert.equal(chunks.at(-1).payload.workflowStatus, 'suspended');

  const resumed = await readAll(await run.resumeStream({ step: 'approve', resumeData: { approved: true } }));
  const rtypes = resumed.map((c) => c.type);
  assert.equal(rtypes.at(-1), 'workflow-finish', JSON.stringify(rtypes));
  assert.equal(resumed.at(-1).payload.workflowStatus, 'success');
  assert.ok(rtypes.includes('workflow-step-waiting'), JSON.stringify(rtypes)); // the sleep step
  assert.equal((await wf.runById(run.runId)).status, 'success');
});

test('resumeNoWait answers with the run id; the run finishes on its own', async () => {
  const run = await wf.createRun();
  assert.equal((await run.startAsync({ inputData: { topic: 'moss' } })).status, 'suspended');
  const res = await run.resumeNoWait({ step: 'approve', resumeData: { approved: true } });
  assert.equal(res.runId, run.runId);
  const chunks = await readAll(await run.observe());
  assert.equal(chunks.at(-1).type, 'workflow-finish');
  const got = await wf.runById(run.runId);
  assert.equal(got.status, 'success');
  assert.deepEqual(got.result, { published: true, text: draftText('moss') });
});

test('runs, run counts, cancel and deleteRunById; bob sees none of it', async () => {
  const suspended = await wf.createRun();
  await suspended.startAsync({ inputData: { topic: 'suspended' } });
  const doomed = await wf.createRun();
  await doomed.startAsync({ inputData: { topic: 'doomed' } });

  const counts = await alice.listWorkflowRunCounts();
  assert.deepEqual(counts.publish, { running: 0, suspended: 2 });

  const list = await wf.runs();
  assert.ok(list.total >= 6, `total ${list.total}`);
  assert.equal(list.runs.length, list.total);
  assert.equal(list.runs[0].runId, doomed.runId); // newest first
  assert.equal(list.runs[0].snapshot.status, 'suspended');
  const page = await wf.runs({ perPage: 2, page: 0 });
  assert.equal(page.runs.length, 2);
  assert.equal(page.total, list.total);
  const legacy = await wf.runs({ limit: 1, offset: 1 });
  assert.deepEqual(legacy.runs.map((r) => r.runId), [list.runs[1].runId]);
  assert.equal((await wf.runs({ limit: false })).runs.length, list.total);
  assert.equal((await wf.runs({ perPage: false })).runs.length, list.total);
  const onlySuspended = await wf.runs({ status: 'suspended' });
  assert.deepEqual(onlySuspended.runs.map((r) => r.runId).sort(), [suspended.runId, doomed.runId].sort());

  // Bob: none of Alice's runs, by list, count or id.
  const bobWf = bob.getWorkflow('publish');
  assert.equal((await bobWf.runs({ resourceId: 'res-alice' })).total, 0);
  assert.deepEqual((await bob.listWorkflowRunCounts()).publish, { running: 0, suspended: 0 });
  await rejectsWith(bobWf.runById(doomed.runId), 404);
  await rejectsWith((await bobWf.createRun({ runId: doomed.runId })).cancel(), 404);
  await rejectsWith(bobWf.deleteRunById(doomed.runId), 404);

  assert.deepEqual(await doomed.cancel(), { message: 'Workflow run cancelled' });
  assert.equal((await wf.runById(doomed.runId)).status, 'canceled');
  await rejectsWith(doomed.resumeAsync({ step: 'approve', resumeData: { approved: true } }), 409);

  assert.deepEqual(await wf.deleteRunById(doomed.runId), { message: 'Workflow run deleted' });
  await rejectsWith(wf.runById(doomed.runId), 404);
  assert.deepEqual((await alice.listWorkflowRunCounts()).publish, { running: 0, suspended: 1 });
  await suspended.cancel();
});

test('a nested workflow suspends its parent; resumeAsync by the path [step, inner step]', async () => {
  const outer = alice.getWorkflow('outer');
  const details = await outer.details();
  assert.equal(details.stepGraph[1].step.component, 'WORKFLOW');
  assert.equal(details.stepGraph[1].step.serializedStepFlow[0].step.id, 'check');

  const run = await outer.createRun();
  const suspended = await run.startAsync({ inputData: { topic: 'owls' } });
  assert.equal(suspended.status, 'suspended');
  assert.deepEqual(suspended.suspended, [['review', 'check']]);
  const payload = suspended.steps.review.suspendPayload;
  assert.equal(payload.text, 'Echo: Draft owls');
  assert.deepEqual(payload.__workflow_meta.path, ['check']);
  const child = await alice.getWorkflow('review').runById(payload.__workflow_meta.runId);
  assert.equal(child.status, 'suspended');

  await rejectsWith(run.resumeAsync({ step: ['review', 'check'], resumeData: { ok: 'yes' } }), 400);
  const done = await run.resumeAsync({ step: ['review', 'check'], resumeData: { ok: true } });
  assert.equal(done.status, 'success');
  assert.deepEqual(done.result, { ok: true, text: 'Echo: Draft owls' });
  await rejectsWith(bob.getWorkflow('review').runById(payload.__workflow_meta.runId), 404);
});

test('startAsync with initialState: the state a step sets comes back', async () => {
  const tally = alice.getWorkflow('tally');
  const run = await tally.createRun();
  const res = await run.startAsync({ inputData: { by: 2 }, initialState: { count: 3 } });
  assert.equal(res.status, 'success');
  assert.equal(res.result, 5);
  assert.deepEqual(res.state, { count: 5 });
  await rejectsWith((await tally.createRun()).startAsync({ inputData: { by: 1 }, initialState: { count: 'x' } }), 400);
});
