// @mastra/client-js's MCP registry calls against [mcp_servers.main] of
// run.sh's config: list, details, tools, one tool's details and execute,
// each execute running for the caller's token's resource; then the
// official TypeScript SDK's client over the streamable HTTP transport.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MastraClient } from '@mastra/client-js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

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

// The official TypeScript SDK's client, unchanged, over the streamable
// HTTP transport: lists and calls the agent and the workflow, each token
// bound to its own resource.

async function mcpClient(token) {
  const c = new Client({ name: 'client-js-test', version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(new URL(`${baseUrl}/api/mcp/main/mcp`), {
    requestInit: { headers: { Authorization: `Bearer ${token}` } },
  });
  await c.connect(transport);
  return c;
}

const parse = (res) => JSON.parse(res.content[0].text);

test('@modelcontextprotocol/sdk client: list and call, two tokens', async () => {
  const a = await mcpClient(process.env.ALICE_TOKEN);
  const b = await mcpClient(process.env.BOB_TOKEN);
  try {
    const { tools } = await a.listTools();
    assert.deepEqual(tools.map((t) => t.name).sort(), ['ask_assistant', 'run_publish']);

    const thread = `mcp-ts-${Date.now()}`;
    const ra = await a.callTool({ name: 'ask_assistant', arguments: { message: 'from the TS SDK', threadId: thread } });
    assert.equal(ra.isError ?? false, false);
    const ga = parse(ra);
    assert.equal(ga.text, 'Echo: from the TS SDK');
    assert.equal(ga.resourceId, 'res-alice');
    assert.equal(ga.threadId, thread);

    // Bob cannot continue alice's thread, and sees nothing of it.
    const rb = await b.callTool({ name: 'ask_assistant', arguments: { message: 'bob here', threadId: thread } });
    assert.equal(rb.isError, true);
    assert.match(rb.content[0].text, /Thread already exists/);
    assert.doesNotMatch(rb.content[0].text, /from the TS SDK/);

    // The workflow, as carol (apart from the run counts of
    // workflows.test.mjs): it runs to its suspend step for her resource.
    const c = await mcpClient(process.env.CAROL_TOKEN);
    try {
      const run = parse(await c.callTool({ name: 'run_publish', arguments: { topic: 'ts sdk' } }));
      assert.equal(run.status, 'suspended');
      await assert.rejects(bob.getWorkflow('publish').runById(run.runId), (err) => err.status === 404);
      await (await carol.getWorkflow('publish').createRun({ runId: run.runId })).cancel();
    } finally {
      await c.close();
    }

    // A bad argument is a tool error, not a protocol failure.
    const bad = await b.callTool({ name: 'ask_assistant', arguments: { nope: 1 } });
    assert.equal(bad.isError, true);
  } finally {
    await a.close();
    await b.close();
  }
});

test('@modelcontextprotocol/sdk client without a token is refused', async () => {
  const c = new Client({ name: 'anon', version: '1.0.0' });
  await assert.rejects(c.connect(new StreamableHTTPClientTransport(new URL(`${baseUrl}/api/mcp/main/mcp`))));
});
