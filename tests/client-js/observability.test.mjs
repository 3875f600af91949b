// Stored observability through client-js 1.47: a turn of Erin's on the
// assistant is stored as a trace (listTraces, legacy getTraces,
// queryTraces as Studio calls it, getTrace, getTraceLight, getSpan), the
// assistant's scorer "echoes" grades it after the turn (listScores,
// listScoresBySpan and the older /scores/* listings), a trace is graded
// on request (score), scores and feedback are created and listed, logs,
// metrics and discovery answer, and deleteTraces deletes. Bob (another
// token) sees, scores and deletes none of Erin's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MastraClient } from '@mastra/client-js';

const client = (token) => new MastraClient({ baseUrl: process.env.MASTRA_URL, headers: { Authorization: `Bearer ${token}` }, retries: 0 });
const erin = client(process.env.ERIN_TOKEN);
const bob = client(process.env.BOB_TOKEN);
const resource = 'res-erin';

// until polls f until it returns something truthy (spans and scores are
// written off the turn, in batches).
async function until(what, f, ms = 15000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const started = new Date(Date.now() - 1000);
let traceId, rootSpanId, runId, thread;

test('a turn is stored as a trace: listTraces, getTraces, queryTraces, getTrace, getSpan', async () => {
  thread = `obs-${Date.now()}`;
  const out = await erin.getAgent('assistant').generate('please observe this', { memory: { thread, resource } });
  assert.match(out.text, /observe/);

  const listed = await until('the trace', async () => {
    const r = await erin.listTraces({ filters: { entityType: 'agent', entityId: 'assistant', threadId: thread }, pagination: { page: 0, perPage: 5 } });
    return r.spans.length > 0 && r;
  });
  assert.equal(listed.pagination.perPage, 5);
  const root = listed.spans[0];
  assert.equal(root.spanType, 'agent_run');
  assert.equal(root.resourceId, resource);
  ({ traceId, spanId: rootSpanId, runId } = root);

  const ordered = await erin.listTraces({ filters: { startedAt: { start: started } }, orderBy: { field: 'startedAt', direction: 'DESC' } });
  assert.ok(ordered.spans.some((s) => s.traceId === traceId));
  const legacy = await erin.getTraces({ pagination: { page: 0, perPage: 10, dateRange: { start: started } }, filters: { entityId: 'assistant', entityType: 'agent' } });
  assert.ok(legacy.spans.some((s) => s.traceId === traceId));
  const light = await erin.observability.listTracesLight({ filters: { threadId: thread }, pagination: { page: 0, perPage: 25 } });
  assert.equal(light.spans[0].traceId, traceId);

  const queried = await erin.queryTraces({ timeRange: { from: started.toISOString(), to: new Date(Date.now() + 60000).toISOString() }, page: { limit: 25 } });
  assert.ok('page' in queried, 'Studio needs the keyset answer');
  assert.ok(queried.traces.some((t) => t.traceId === traceId && t.entityId === 'assistant'));

  const trace = await until('the model span', async () => {
    const t = await erin.getTrace(traceId);
    return t.spans.some((s) => s.spanType === 'model_generation') && t;
  });
  assert.equal(trace.traceId, traceId);
  const model = trace.spans.find((s) => s.spanType === 'model_generation');
  assert.equal(model.parentSpanId, rootSpanId);
  const { span } = await erin.getSpan(traceId, model.spanId);
  assert.equal(span.spanId, model.spanId);
  assert.equal((await erin.observability.getTraceLight(traceId)).spans.length, trace.spans.length);

  await assert.rejects(erin.getTrace('0123456789abcdef0123456789abcdef'), /404/);
  await assert.rejects(bob.getTrace(traceId), /404/);
  await assert.rejects(bob.getSpan(traceId, model.spanId), /404/);
  const bobs = await bob.listTraces({ pagination: { page: 0, perPage: 100 } });
  assert.ok(!bobs.spans.some((s) => s.traceId === traceId), 'bob lists erin\'s trace');
});

test('the scorer grades the turn after it: listScores, listScoresBySpan, /scores/*', async () => {
  const scores = await until('the live score', async () => {
    const r = await erin.listScores({ filters: { scorerId: 'echoes', traceId } });
    return r.scores.length > 0 && r.scores;
  });
  assert.equal(scores[0].score, 1);
  assert.equal(scores[0].scoreSource, 'live');
  assert.equal(scores[0].spanId, rootSpanId);

  const bySpan = await erin.listScoresBySpan({ traceId, spanId: rootSpanId, page: 0, perPage: 10 });
  assert.ok(bySpan.scores.some((s) => s.scorerId === 'echoes'));
  const byScorer = await erin.listScoresByScorerId({ scorerId: 'echoes', page: 0, perPage: 10 });
  assert.ok(byScorer.scores.some((s) => s.traceId === traceId));
  assert.ok('pagination' in byScorer);
  const byRun = await erin.listScoresByRunId({ runId });
  assert.ok(byRun.scores.some((s) => s.scorerId === 'echoes'));
  const byEntity = await erin.listScoresByEntityId({ entityType: 'AGENT', entityId: 'assistant' });
  assert.ok(byEntity.scores.some((s) => s.traceId === traceId));

  const scorers = await erin.listScorers();
  assert.deepEqual(scorers.echoes.agentIds, ['assistant']);
  assert.equal(scorers.echoes.scorer.config.name, 'Echoes');
  assert.equal((await erin.getScorer('echoes')).scorer.config.id, 'echoes');

  assert.equal((await bob.listScores({ filters: { scorerId: 'echoes', traceId } })).scores.length, 0);
  assert.equal((await bob.listScoresBySpan({ traceId, spanId: rootSpanId })).scores.length, 0);
  assert.equal((await bob.listScoresByRunId({ runId })).scores.length, 0);
});

test('score grades a stored trace on request; not another tenant\'s', async () => {
  const bobs = await bob.score({ scorerName: 'echoes', targets: [{ traceId }] });
  assert.equal(bobs.traceCount, 0);
  const r = await erin.score({ scorerName: 'echoes', targets: [{ traceId }] });
  assert.equal(r.status, 'success');
  assert.equal(r.traceCount, 1);
  await until('the trace score', async () => (await erin.listScores({ filters: { scoreSource: 'trace', traceId } })).scores.length === 1);
  await assert.rejects(erin.score({ scorerName: 'nobody', targets: [{ traceId }] }), /404/);
});

test('createScore, createFeedback and their listings; Mastra\'s 400s', async () => {
  assert.deepEqual(await erin.createScore({ score: { traceId, spanId: rootSpanId, scorerId: 'e2e-test-scorer', score: 0.95, reason: 'good' } }), { success: true });
  const mine = await erin.listScores({ filters: { scorerId: 'e2e-test-scorer' }, pagination: { page: 0, perPage: 5 } });
  assert.equal(mine.pagination.perPage, 5);
  assert.ok(mine.scores.length >= 1 && mine.scores.every((s) => s.scorerId === 'e2e-test-scorer' && s.resourceId === resource));
  await assert.rejects(erin.createScore({ traceId, name: 'accuracy', value: 0.95 }), /400/);

  assert.deepEqual(await erin.createFeedback({ feedback: { traceId, spanId: rootSpanId, source: 'user', feedbackType: 'thumbs', value: 1, comment: 'nice' } }), { success: true });
  const fb = await erin.listFeedback({ filters: { feedbackType: 'thumbs' } });
  assert.ok(fb.feedback.length >= 1 && fb.feedback.every((f) => f.feedbackType === 'thumbs'));
  await assert.rejects(erin.createFeedback({ traceId, score: 1, comment: 'x' }), /400/);

  assert.equal((await bob.listScores({ filters: { scorerId: 'e2e-test-scorer' } })).scores.length, 0);
  assert.equal((await bob.listFeedback({ filters: { feedbackType: 'thumbs' } })).feedback.filter((f) => f.traceId === traceId).length, 0);
});

test('logs, metrics and discovery', async () => {
  const logs = await erin.listLogsVNext({ pagination: { page: 0, perPage: 5 } });
  assert.equal(logs.pagination.perPage, 5);
  assert.ok(Array.isArray(logs.logs));

  const agg = await until('the turn\'s metric', async () => {
    const a = await erin.getMetricAggregate({ name: ['mastra_agent_duration_ms'], aggregation: 'count', filters: { threadId: thread } });
    return a.value >= 1 && a;
  });
  assert.ok(agg.value >= 1);
  // Bob's own turns run on the same agent: his count of Erin's thread is 0.
  const bobAgg = await bob.getMetricAggregate({ name: ['mastra_agent_duration_ms'], aggregation: 'count', filters: { threadId: thread } });
  assert.ok(!bobAgg.value, `bob counts erin's turns: ${JSON.stringify(bobAgg)}`);
  await assert.rejects(erin.getMetricAggregate({ metricName: 'latency', aggregation: 'avg' }), /400/);
  await assert.rejects(erin.getMetricPercentiles({ name: 'latency', percentiles: [50, 90, 99], interval: '1h' }), /400/);
  const p = await erin.getMetricPercentiles({ name: 'mastra_agent_duration_ms', percentiles: [0.5, 0.95], interval: '1h' });
  assert.equal(p.series.length, 2);

  assert.ok((await erin.getEntityTypes()).entityTypes.includes('agent'));
  assert.ok((await erin.getEntityNames({ entityType: 'agent' })).names.includes('Assistant'));
  assert.ok(Array.isArray((await erin.getServiceNames()).serviceNames));
  assert.ok(Array.isArray((await erin.getEnvironments()).environments));
  assert.ok(Array.isArray((await erin.getTags()).tags));
});

test('deleteTraces deletes one\'s own trace only', async () => {
  await bob.deleteTraces({ traceIds: [traceId] });
  assert.equal((await erin.getTrace(traceId)).traceId, traceId);
  assert.deepEqual(await erin.deleteTraces({ traceIds: [traceId] }), { success: true });
  await assert.rejects(erin.getTrace(traceId), /404/);
});
