// anthropic_client.mjs - the official `@anthropic-ai/sdk` npm SDK as a client of hearth's
// POST /v1/messages, one case per run, for tests/e2e/test_sdk_anthropic.py.
// Usage: node anthropic_client.mjs BASE_URL MODEL CASE   (BASE_URL without /v1)
// common.mjs first: it must be watching for warnings before the SDK module runs.
import { expectError, main } from './common.mjs';
import Anthropic from '@anthropic-ai/sdk';

// Most specific first: the first class an error is an instance of is the one reported.
const CLASSES = [
  ['BadRequestError', Anthropic.BadRequestError],
  ['AuthenticationError', Anthropic.AuthenticationError],
  ['PermissionDeniedError', Anthropic.PermissionDeniedError],
  ['NotFoundError', Anthropic.NotFoundError],
  ['ConflictError', Anthropic.ConflictError],
  ['UnprocessableEntityError', Anthropic.UnprocessableEntityError],
  ['RateLimitError', Anthropic.RateLimitError],
  ['InternalServerError', Anthropic.InternalServerError],
  ['APIConnectionTimeoutError', Anthropic.APIConnectionTimeoutError],
  ['APIConnectionError', Anthropic.APIConnectionError],
  ['APIUserAbortError', Anthropic.APIUserAbortError],
  ['APIError', Anthropic.APIError],
  ['AnthropicError', Anthropic.AnthropicError],
];

// SDK_PROMPT and SDK_SAMPLING: as in openai_client.mjs
const PROMPT = process.env.SDK_PROMPT ?? 'hello there';
const SAMPLING = JSON.parse(process.env.SDK_SAMPLING ?? '{}');
const MAX_TOKENS = 256;
const TOOLS = [{
  name: 'get_weather',
  description: 'The current weather at a place',
  input_schema: {
    type: 'object',
    properties: { location: { type: 'string' }, unit: { type: 'string', enum: ['celsius', 'fahrenheit'] } },
    required: ['location'],
  },
}];

function client(baseURL) {
  return new Anthropic({
    baseURL,
    apiKey: process.env.SDK_API_KEY ?? 'sk-ant-dummy-hearth-e2e', // sent as x-api-key
    authToken: null,
    maxRetries: 0,
    timeout: 15000,
  });
}

function params(model, text = PROMPT, extra = {}) {
  return {
    model, max_tokens: MAX_TOKENS, messages: [{ role: 'user', content: text }], ...SAMPLING, ...extra,
  };
}

// The parts of a Message a test asserts on.
function describe(msg) {
  return {
    type: msg.type,
    role: msg.role,
    model: msg.model,
    id: msg.id,
    stop_reason: msg.stop_reason,
    content: msg.content.map((b) => (b.type === 'text' ? { type: b.type, text: b.text }
      : b.type === 'tool_use' ? { type: b.type, id: b.id, name: b.name, input: b.input }
        : { type: b.type })),
    usage: { input_tokens: msg.usage?.input_tokens ?? null, output_tokens: msg.usage?.output_tokens ?? null },
  };
}

// messages.stream(): the raw event types in order, the text deltas, the final Message
async function streamed(baseURL, body) {
  const stream = client(baseURL).messages.stream(body);
  const events = [];
  let text = '';
  let inputJsonDeltas = 0;
  stream.on('streamEvent', (e) => events.push(e.type));
  stream.on('text', (delta) => { text += delta; });
  stream.on('inputJson', () => { inputJsonDeltas += 1; });
  const final = await stream.finalMessage();
  return { ...describe(final), events, text, input_json_deltas: inputJsonDeltas };
}

const CASES = {
  async text({ baseURL, model }) {
    return describe(await client(baseURL).messages.create(params(model)));
  },

  async stream({ baseURL, model }) {
    return streamed(baseURL, params(model));
  },

  async tools({ baseURL, model }) {
    return describe(await client(baseURL).messages.create(
      params(model, "What's the weather in Paris?", { tools: TOOLS })));
  },

  async tools_stream({ baseURL, model }) {
    return streamed(baseURL, params(model, "What's the weather in Paris?", { tools: TOOLS }));
  },

  // a call expected to fail: the model decides how
  async error({ baseURL, model }) {
    return expectError(() => client(baseURL).messages.create(params(model)), Anthropic.APIError, CLASSES);
  },
};

await main('anthropic_client.mjs', CASES, CLASSES);
