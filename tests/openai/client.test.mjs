// pg_rag_server against the official openai npm client (6.x): tests/openai-client-test.sh starts
// Postgres, the fake provider and two servers, then runs this. Prints "openai client: N passed, M failed".
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import OpenAI from 'openai';

const baseURL = process.env.PGRAG_OPENAI_BASE_URL; // extractive answers (the default set-up)
const midstreamURL = process.env.PGRAG_OPENAI_MIDSTREAM_URL; // fake Ollama failing after two tokens
const pgPort = process.env.PGRAG_OPENAI_PG_PORT;

// Every request body the client sent, to see what it asked for on the wire.
const sent = [];
const recordingFetch = (url, init) => {
  sent.push({ url: String(url), body: init && typeof init.body === 'string' ? JSON.parse(init.body) : null });
  return fetch(url, init);
};
// No retries: an error must reach the test as the server sent it, once.
const client = new OpenAI({ baseURL, apiKey: 'not-checked', maxRetries: 0, timeout: 30000, fetch: recordingFetch });

// rag_embed's values for a text, read through psql (real[] prints the shortest exact float text; the
// text is a psql variable, quoted by psql, as -c does not interpolate).
function ragEmbed(text) {
  const out = execFileSync('psql', ['-X', '-qtA', '-h', '127.0.0.1', '-p', pgPort, '-U', 'postgres', '-d', 'pg_rag',
    '-v', `t=${text}`], { input: "SELECT rag_embed(:'t')::real[];\n", encoding: 'utf8' }).trim();
  return out.slice(1, -1).split(',').map(Number).map(Math.fround);
}

const tests = [];
const test = (name, fn) => tests.push({ name, fn });

test('lists the models', async () => {
  const ids = [];
  for await (const m of client.models.list()) ids.push(m.id);
  assert.deepEqual(ids, ['pg_rag']);
  const one = await client.models.retrieve('pg_rag');
  assert.equal(one.object, 'model');
});

test('a plain chat answers with citations and sources', async () => {
  const r = await client.chat.completions.create({
    model: 'pg_rag',
    messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'How long do refunds take?' }],
    max_tokens: 200,
    temperature: 0,
  });
  assert.equal(r.object, 'chat.completion');
  assert.equal(r.choices[0].message.role, 'assistant');
  assert.equal(r.choices[0].message.content, 'Refunds are processed within five business days. [1]');
  assert.equal(r.choices[0].finish_reason, 'stop');
  assert.ok(r.usage.total_tokens > 0);
  assert.equal(r.sources[0].n, 1); // pg_rag's extra field
  assert.equal(r.sources[0].title, 'Refund policy');
});

test('append_sources adds the cited sources to the text', async () => {
  const r = await client.chat.completions.create({
    model: 'pg_rag',
    messages: [{ role: 'user', content: 'How long do refunds take?' }],
    pg_rag: { append_sources: true },
  });
  assert.equal(r.choices[0].message.content,
    'Refunds are processed within five business days. [1]\n\nSources:\n- [1] Refund policy (kb/refunds)\n');
});

test('a streamed chat with usage', async () => {
  const stream = await client.chat.completions.create({
    model: 'pg_rag',
    messages: [{ role: 'user', content: 'How long do refunds take and can digital goods be refunded?' }],
    stream: true,
    stream_options: { include_usage: true },
  });
  const chunks = [];
  for await (const chunk of stream) chunks.push(chunk);
  const text = chunks.map((c) => c.choices[0]?.delta?.content ?? '').join('');
  assert.equal(text,
    'Refunds are processed within five business days. [1] Digital goods cannot be refunded after download. [1]');
  assert.ok(chunks.filter((c) => c.choices[0]?.delta?.content).length >= 2, 'streamed in pieces');
  assert.equal(chunks[0].choices[0].delta.role, 'assistant');
  assert.equal(chunks[0].sources[0].title, 'Refund policy');
  const last = chunks[chunks.length - 1];
  assert.deepEqual(last.choices, []);
  assert.ok(last.usage.completion_tokens > 0);
  assert.equal(last.usage.total_tokens, last.usage.prompt_tokens + last.usage.completion_tokens);
  assert.equal(chunks[chunks.length - 2].choices[0].finish_reason, 'stop');
});

test('embeddings with the default encoding equal rag_embed exactly', async () => {
  sent.length = 0;
  const r = await client.embeddings.create({ model: 'pg_rag', input: ['refund policy', 'shipping to Europe'] });
  assert.equal(sent[0].body.encoding_format, 'base64', 'the client asks for base64 by default');
  assert.equal(r.data.length, 2);
  assert.deepEqual(r.data[0].embedding, ragEmbed('refund policy'));
  assert.deepEqual(r.data[1].embedding, ragEmbed('shipping to Europe'));
  assert.ok(r.usage.prompt_tokens > 0);
  const floats = await client.embeddings.create({ model: 'pg_rag', input: 'refund policy', encoding_format: 'float' });
  assert.deepEqual(floats.data[0].embedding, r.data[0].embedding);
});

test('embeddings with dimensions are shortened and unit length', async () => {
  const full = ragEmbed('refund policy');
  const r = await client.embeddings.create({ model: 'pg_rag', input: 'refund policy', dimensions: 64 });
  const v = r.data[0].embedding;
  assert.equal(v.length, 64);
  const norm = Math.sqrt(v.reduce((s, x) => s + x * x, 0));
  assert.ok(Math.abs(norm - 1) < 1e-5, `norm ${norm}`);
  const head = Math.sqrt(full.slice(0, 64).reduce((s, x) => s + x * x, 0));
  v.forEach((x, i) => assert.ok(Math.abs(x - full[i] / head) < 1e-6, `value ${i}`));
  await assert.rejects(client.embeddings.create({ model: 'pg_rag', input: 'x', dimensions: 4096 }),
    (e) => e instanceof OpenAI.BadRequestError && /at most 384/.test(e.message));
});

test('empty messages: BadRequestError with our message', async () => {
  await assert.rejects(client.chat.completions.create({ model: 'pg_rag', messages: [] }), (e) => {
    assert.ok(e instanceof OpenAI.BadRequestError, e.constructor.name);
    assert.equal(e.status, 400);
    assert.equal(e.type, 'invalid_request_error');
    assert.match(e.message, /"messages" must be a non-empty array/);
    return true;
  });
});

test('an unknown model: NotFoundError model_not_found', async () => {
  await assert.rejects(
    client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] }),
    (e) => e instanceof OpenAI.NotFoundError && e.code === 'model_not_found');
});

test('a provider failing mid-stream surfaces as an APIError', async () => {
  const failing = new OpenAI({ baseURL: midstreamURL, apiKey: 'not-checked', maxRetries: 0, timeout: 30000 });
  const stream = await failing.chat.completions.create({
    model: 'pg_rag',
    messages: [{ role: 'user', content: 'How long do refunds take?' }],
    stream: true,
  });
  let text = '';
  await assert.rejects((async () => {
    for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
  })(), (e) => {
    assert.ok(e instanceof OpenAI.APIError, e.constructor.name);
    assert.match(e.message, /model runner has unexpectedly stopped/);
    assert.equal(e.type, 'provider_error');
    return true;
  });
  assert.equal(text, 'ollama says: ', 'the text before the failure arrived');
  // Without streaming the same failure is a 502.
  await assert.rejects(
    failing.chat.completions.create({ model: 'pg_rag', messages: [{ role: 'user', content: 'Refunds?' }] }),
    (e) => e instanceof OpenAI.InternalServerError && e.status === 502);
});

let passed = 0;
let failed = 0;
for (const t of tests) {
  try {
    await t.fn();
    passed++;
    console.log(`ok - ${t.name}`);
  } catch (e) {
    failed++;
    console.log(`not ok - ${t.name}\n  ${String(e && e.stack ? e.stack : e).split('\n').slice(0, 6).join('\n  ')}`);
  }
}
console.log(`openai client: ${passed} passed, ${failed} failed`);
process.exitCode = failed === 0 ? 0 : 1;
