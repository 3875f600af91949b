// @mastra/client-js's MCP registry calls against [mcp_servers.main] of
// run.sh's config: list, details, tools, one tool's details and execute,
// each execute running for the caller's token's resource.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MastraClient } from '@mastra/client-js';

const baseUrl = process.env.MASTRA_URL;
assert.ok(baseUrl, 'MASTRA_URL is not set: run this through run.sh');
const client = (token) => new MastraClient({ baseUrl, retries: 0, headers: { Authorization: `Bearer ${token}` } });
const alice = client(process.env.ALICE_TOKEN);
const bob = client(process.env.BOB_TOKEN);
// carol starts the run, so that alice's and bob's run counts in
// workflows.test.mjs stay theirs.
const carol = client(process.env.CAROL_TOKEN);

test('getMcpServers and getMcpServerDetails', async () => {
  const list = await alice.getMcpServers();
  assert.equal(list.total_count, 1);
  assert.equal(list.next, null);
  assert.equal(list.servers[0].id, 'main');
  assert.equal(list.servers[0].name, 'Main');
  assert.equal(list.servers[0].version_detail.version, '1.2.0');
  assert.equal(list.servers[0].version_detail.is_latest, true);

  const details = await alice.getMcpServerDetails('main');
  assert.equal(details.description, 'The assistant and the publish workflow');
  await assert.rejects(alice.getMcpServerDetails('main', { version: '9.9.9' }), (err) => err.status === 404);
  await assert.rejects(alice.getMcpServerDetails('nope'), (err) => err.status === 404);
});

test('getMcpServerTools and getMcpServerTool', async () => {
  const { tools } = await alice.getMcpServerTools('main');
  assert.deepEqual(tools.map((t) => t.name).sort(), ['ask_assistant', 'run_publish']);
  const ask = tools.find((t) => t.name === 'ask_assistant');
  assert.equal(ask.toolType, 'agent');
  assert.match(ask.description, /Repeats what it is told/);
  assert.deepEqual(ask.inputSchema.required, ['message']);

  const run = await alice.getMcpServerTool('main', 'run_publish').details();
  assert.equal(run.toolType, 'workflow');
  assert.deepEqual(run.inputSchema.required, ['topic']);
});

test('MCPTool.execute runs for the caller', async () => {
  const res = await bob.getMcpServerTool('main', 'ask_assistant').execute({ data: { message: 'hello over mcp' } });
  assert.equal(res.result.text, 'Echo: hello over mcp');
  assert.equal(res.result.resourceId, 'res-bob');

  const run = await carol.getMcpServerTool('main', 'run_publish').execute({ data: { topic: 'mcp' } });
  assert.equal(run.result.status, 'suspended');
  assert.ok(run.result.runId);
  // The run is carol's: bob cannot read it, and carol ends it.
  await assert.rejects(bob.getWorkflow('publish').runById(run.result.runId), (err) => err.status === 404);
  const mine = carol.getWorkflow('publish');
  assert.equal((await mine.runById(run.result.runId)).status, 'suspended');
  await (await mine.createRun({ runId: run.result.runId })).cancel();

  await assert.rejects(
    alice.getMcpServerTool('main', 'run_publish').execute({ data: { subject: 'no topic' } }),
    (err) => err.status === 400,
  );
});
