// The Mastra 1.x peer of bench/load's "peer" phase: one agent, "fast", with
// memory on Postgres (@mastra/pg, the last 20 messages each turn) and an
// OpenAI-compatible model at MODEL_URL, served by @mastra/deployer's
// createNodeServer — the server `mastra build` output starts — on
// 127.0.0.1:PORT. The agent and memory mirror the agent bench/load gives
// mastra-server, so both answer the same requests with the same work.
//
//   PORT=4111 DATABASE_URL=postgres://… MODEL_URL=http://127.0.0.1:9999/v1 \
//     node_modules/.bin/node server.mjs
import { Mastra } from '@mastra/core/mastra';
import { Agent } from '@mastra/core/agent';
import { Memory } from '@mastra/memory';
import { PostgresStore } from '@mastra/pg';
import { createNodeServer } from '@mastra/deployer/server';

const need = (name) => {
  const v = process.env[name];
  if (!v) {
    console.error(`bench/peer: ${name} is not set`);
    process.exit(2);
  }
  return v;
};

const storage = new PostgresStore({ id: 'bench-pg', connectionString: need('DATABASE_URL') });

// History only: no semantic recall, working memory or title generation,
// as on mastra-server's side (memory.last_messages = 20, nothing else).
const memory = new Memory({
  storage,
  options: { lastMessages: 20, semanticRecall: false, workingMemory: { enabled: false }, generateTitle: false },
});

const fast = new Agent({
  id: 'fast',
  name: 'Fast',
  instructions: 'You are a benchmark.',
  model: { providerId: 'openai', modelId: 'instant', url: need('MODEL_URL'), apiKey: 'sk-bench' },
  memory,
});

const mastra = new Mastra({
  agents: { fast },
  storage,
  // Warnings and errors only, as mastra-server runs in the benchmark.
  logger: false,
  server: { host: '127.0.0.1', port: Number(need('PORT')) },
});

await createNodeServer(mastra, { tools: {} });
