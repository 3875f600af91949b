// Structured output with client-js: generate answers `object`, a stream
// sends `object` chunks and then `object-result`, and an option the server
// cannot honour is a 400 naming it (client-js throws, without retrying).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MastraClient } from '@mastra/client-js';

const carol = new MastraClient({ baseUrl: process.env.MASTRA_URL, headers: { Authorization: `Bearer ${process.env.CAROL_TOKEN}` }, retries: 0 });
const schema = {
  type: 'object',
  properties: { city: { type: 'string' }, tempC: { type: 'number' } },
  required: ['city', 'tempC'],
  additionalProperties: false,
};

test('generate answers the structured object', async () => {
  const res = await carol.getAgent('ctool').generate('weather in Rome as JSON', { structuredOutput: { schema } });
  assert.deepEqual(res.object, { city: 'Rome', tempC: 21 });
  assert.equal(res.usedFallbackValue, false);
  assert.equal(res.steps.length, 1);
  assert.equal(res.response.modelMetadata.modelId, 'gpt-test');
});

test('stream sends partial objects, then object-result after finish', async () => {
  const response = await carol.getAgent('ctool').stream('weather in Rome as JSON', { structuredOutput: { schema } });
  const types = [];
  const partials = [];
  let result;
  await response.processDataStream({
    onChunk: async (c) => {
      types.push(c.type);
      if (c.type === 'object') partials.push(c.object);
      if (c.type === 'object-result') result = c.object;
    },
  });
  assert.deepEqual(result, { city: 'Rome', tempC: 21 });
  assert.ok(partials.length >= 2, `partial objects: ${JSON.stringify(partials)}`);
  assert.deepEqual(partials.at(-1), { city: 'Rome', tempC: 21 });
  assert.deepEqual(types.slice(-2), ['finish', 'object-result']);
});

test('a value that does not match falls back when asked to', async () => {
  const strict = { ...schema, properties: { ...schema.properties, tempC: { type: 'string' } } };
  const res = await carol.getAgent('ctool').generate('weather', {
    structuredOutput: { schema: strict, errorStrategy: 'fallback', fallbackValue: { city: '?', tempC: '?' } },
  });
  assert.deepEqual(res.object, { city: '?', tempC: '?' });
  assert.equal(res.usedFallbackValue, true);
});

test('an option the server does not honour is a 400 naming it', async () => {
  await assert.rejects(
    carol.getAgent('ctool').generate('hi', { providerOptions: { openai: { user: 'x' } } }),
    (err) => err.status === 400 && /providerOptions/.test(err.message),
  );
});
