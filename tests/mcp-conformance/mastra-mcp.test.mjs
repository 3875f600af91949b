// @mastra/mcp's MCPClient (pinned in package.json), unchanged, against a
// real mastra-server binary with auth on (run.sh's second server): it lists
// and calls an agent (ask_assistant), a workflow (run_brief) and a Wasm
// tool (weather) at /api/mcp/main/mcp. Each token's calls run for its own
// resource, and what they make the other token cannot read; a client
// without a token is refused.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { MCPClient } from '@mastra/mcp';

const baseUrl = process.env.MASTRA_URL;
assert.ok(baseUrl, 'MASTRA_URL is not set: run this through run.sh');
const endpoint = new URL(`${baseUrl}/api/mcp/main/mcp`);
const { ALICE_TOKEN, BOB_TOKEN } = process.env;

const clients = [];
function mcp(id, token) {
  const headers = token ? { Authorization: `Bearer ${token}` } : {};
  const c = new MCPClient({
    id,
    timeout: 20000,
    servers: { ms: { url: endpoint, requestInit: { headers }, enableServerLogs: false } },
  });
  clients.push(c);
  return c;
}
after(() => Promise.all(clients.map((c) => c.disconnect())));

const alice = mcp('alice', ALICE_TOKEN);
const bob = mcp('bob', BOB_TOKEN);

// MCPClient hands back the MCP CallToolResult; these tools answer JSON text.
const json = (res) => JSON.parse(res.content[0].text);
// A REST read with a token: its status code.
const status = async (path, token) =>
  (await fetch(`${baseUrl}${path}`, { headers: { Authorization: `Bearer ${token}` } })).status;

test('MCPClient lists the agent, the workflow and the Wasm tool', async () => {
  for (const c of [alice, bob]) {
    const tools = await c.listTools();
    assert.deepEqual(Object.keys(tools).sort(), ['ms_ask_assistant', 'ms_run_brief', 'ms_weather']);
    assert.match(tools.ms_ask_assistant.description, /Repeats what it is told/);
    assert.match(tools.ms_run_brief.description, /Drafts a brief on a topic/);
    assert.match(tools.ms_weather.description, /Current weather of a city/);
  }
});

test('MCPClient calls the agent, each token on its own resource', async () => {
  const a = await alice.listTools();
  const b = await bob.listTools();
  const thread = `mastra-mcp-${process.pid}`;
  const ga = json(await a.ms_ask_assistant.execute({ message: 'from @mastra/mcp', threadId: thread }, {}));
  assert.equal(ga.text, 'Echo: from @mastra/mcp');
  assert.equal(ga.resourceId, 'res-alice');
  assert.equal(ga.threadId, thread);

  // Bob cannot write to alice's thread, nor read it.
  await assert.rejects(
    b.ms_ask_assistant.execute({ message: 'bob here', threadId: thread }, {}),
    (err) => /Thread already exists/.test(err.message) && !/from @mastra\/mcp/.test(err.message),
  );
  assert.equal(await status(`/api/memory/threads/${thread}?agentId=assistant`, BOB_TOKEN), 404);
  assert.equal(await status(`/api/memory/threads/${thread}?agentId=assistant`, ALICE_TOKEN), 200);

  const gb = json(await b.ms_ask_assistant.execute({ message: 'bob here' }, {}));
  assert.equal(gb.text, 'Echo: bob here');
  assert.equal(gb.resourceId, 'res-bob');
});

test('MCPClient runs the workflow for its token only', async () => {
  const run = json(await (await alice.listTools()).ms_run_brief.execute({ topic: 'mcp' }, {}));
  assert.equal(run.status, 'success');
  assert.deepEqual(run.result, { text: 'Echo: Brief on mcp' });
  assert.ok(run.runId);
  assert.equal(await status(`/api/workflows/brief/runs/${run.runId}`, BOB_TOKEN), 404);
  assert.equal(await status(`/api/workflows/brief/runs/${run.runId}`, ALICE_TOKEN), 200);
});

test('MCPClient calls the Wasm tool', async () => {
  // The weather is made up from the city's name: the same for both tokens.
  for (const c of [alice, bob]) {
    const w = json(await (await c.listTools()).ms_weather.execute({ city: 'Oslo' }, {}));
    assert.deepEqual(w, { city: 'Oslo', tempC: 24, conditions: 'rain' });
  }
});

test('MCPClient without a token is refused', async () => {
  const { tools, errors } = await mcp('anon', '').listToolsWithErrors();
  assert.deepEqual(tools, {});
  assert.match(errors.ms, /HTTP 401/);
});
