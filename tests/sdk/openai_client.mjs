// openai_client.mjs - the official `openai` npm SDK as a client of hearth, one case per run,
// for tests/e2e/test_sdk_openai.py. Usage: node openai_client.mjs BASE_URL MODEL CASE
// common.mjs first: it must be watching for warnings before the SDK module runs.
import { expectError, main } from './common.mjs';
import OpenAI from 'openai';

// Most specific first: the first class an error is an instance of is the one reported.
const CLASSES = [
  ['BadRequestError', OpenAI.BadRequestError],
  ['AuthenticationError', OpenAI.AuthenticationError],
  ['PermissionDeniedError', OpenAI.PermissionDeniedError],
  ['NotFoundError', OpenAI.NotFoundError],
  ['ConflictError', OpenAI.ConflictError],
  ['UnprocessableEntityError', OpenAI.UnprocessableEntityError],
  ['RateLimitError', OpenAI.RateLimitError],
  ['InternalServerError', OpenAI.InternalServerError],
  ['APIConnectionTimeoutError', OpenAI.APIConnectionTimeoutError],
  ['APIConnectionError', OpenAI.APIConnectionError],
  ['APIUserAbortError', OpenAI.APIUserAbortError],
  ['APIError', OpenAI.APIError],
  ['OpenAIError', OpenAI.OpenAIError],
];

// SDK_PROMPT and SDK_SAMPLING (a JSON object, e.g. {"temperature":0}) let a test pin the
// answer of a real model (tests/e2e/test_llamacpp.py); the fakes need neither.
const PROMPT = process.env.SDK_PROMPT ?? 'hello there';
const SAMPLING = JSON.parse(process.env.SDK_SAMPLING ?? '{}');
const TOOLS = [{
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'The current weather at a place',
    parameters: {
      type: 'object',
      properties: { location: { type: 'string' }, unit: { type: 'string', enum: ['celsius', 'fahrenheit'] } },
      required: ['location'],
    },
  },
}];

function client(baseURL) {
  return new OpenAI({
    baseURL,
    apiKey: process.env.SDK_API_KEY ?? 'sk-dummy-hearth-e2e',
    organization: null,
    project: null,
    maxRetries: 0, // a 429 with Retry-After must be reported, not waited out
    timeout: 15000,
  });
}

function messages(text = PROMPT) {
  return [{ role: 'user', content: text }];
}

const toolCalls = (msg) => (msg.tool_calls ?? []).map((t) => ({
  id: t.id, type: t.type, name: t.function.name, arguments: t.function.arguments,
}));

const expect = (fn, opts) => expectError(fn, OpenAI.APIError, CLASSES, opts);

const CASES = {
  // chat.completions.create, whole answer; also the response headers hearth adds
  async chat({ baseURL, model }) {
    const { data, response } = await client(baseURL).chat.completions
      .create({ model, messages: messages(), ...SAMPLING }).withResponse();
    const choice = data.choices[0];
    return {
      object: data.object, model: data.model, content: choice.message.content,
      role: choice.message.role, finish_reason: choice.finish_reason, choices: data.choices.length,
      usage: data.usage, hearth_model: response.headers.get('x-hearth-model'),
    };
  },

  // stream: true with include_usage, chunks reassembled by hand
  async stream({ baseURL, model }) {
    const stream = await client(baseURL).chat.completions.create({
      model, messages: messages(), stream: true, stream_options: { include_usage: true },
      ...SAMPLING,
    });
    let content = '';
    let role = null;
    const finishReasons = [];
    const usageChunks = [];
    let chunks = 0;
    for await (const chunk of stream) {
      chunks += 1;
      if (chunk.object !== 'chat.completion.chunk') throw new Error(`chunk object is ${chunk.object}`);
      for (const c of chunk.choices) {
        role = c.delta?.role ?? role;
        content += c.delta?.content ?? '';
        if (c.finish_reason) finishReasons.push(c.finish_reason);
      }
      if (chunk.choices.length === 0 && chunk.usage) usageChunks.push(chunk.usage);
      else if (chunk.usage) throw new Error(`usage on a chunk with choices: ${JSON.stringify(chunk)}`);
    }
    return { content, role, finish_reasons: finishReasons, usage_chunks: usageChunks, chunks };
  },

  // the SDK's own stream helper: events plus finalChatCompletion()
  async stream_helper({ baseURL, model }) {
    const stream = client(baseURL).chat.completions.stream({
      model, messages: messages(), stream_options: { include_usage: true },
    });
    let deltas = '';
    stream.on('content', (delta) => { deltas += delta; });
    const final = await stream.finalChatCompletion();
    const msg = final.choices[0].message;
    return {
      content: msg.content, deltas, finish_reason: final.choices[0].finish_reason,
      usage: final.usage ?? null,
    };
  },

  async tools({ baseURL, model }) {
    const data = await client(baseURL).chat.completions.create({
      model, messages: messages("What's the weather in Paris?"), tools: TOOLS,
    });
    const choice = data.choices[0];
    return {
      content: choice.message.content, tool_calls: toolCalls(choice.message),
      finish_reason: choice.finish_reason, usage: data.usage,
    };
  },

  // streamed tool call, assembled by the SDK's helper; argument deltas counted on the way
  async tools_stream({ baseURL, model }) {
    const stream = client(baseURL).chat.completions.stream({
      model, messages: messages("What's the weather in Paris?"), tools: TOOLS,
    });
    let argumentDeltas = 0;
    const doneArguments = [];
    stream.on('chunk', (chunk) => {
      for (const c of chunk.choices) {
        for (const t of c.delta?.tool_calls ?? []) if (t.function?.arguments) argumentDeltas += 1;
      }
    });
    stream.on('tool_calls.function.arguments.done', (e) => {
      doneArguments.push({ name: e.name, arguments: e.arguments });
    });
    const final = await stream.finalChatCompletion();
    const choice = final.choices[0];
    return {
      content: choice.message.content, tool_calls: toolCalls(choice.message),
      finish_reason: choice.finish_reason, argument_deltas: argumentDeltas,
      done_arguments: doneArguments,
    };
  },

  // a request hearth itself refuses (temperature out of range)
  async bad_temperature({ baseURL, model }) {
    return expect(() => client(baseURL).chat.completions.create({
      model, messages: messages(), temperature: 5,
    }));
  },

  // a call expected to fail: the model decides how (unknown, upstream 429, upstream 400)
  async error({ baseURL, model }) {
    return expect(() => client(baseURL).chat.completions.create({ model, messages: messages() }));
  },

  async error_stream({ baseURL, model }) {
    return expect(async () => {
      const stream = await client(baseURL).chat.completions.create({
        model, messages: messages(), stream: true,
      });
      const chunks = [];
      for await (const chunk of stream) chunks.push(chunk);
      return chunks;
    });
  },

  // a stream that fails after it started: the text seen before the SDK raises
  async stream_broken({ baseURL, model }) {
    let content = '';
    const outcome = await expect(async () => {
      const stream = await client(baseURL).chat.completions.create({
        model, messages: messages(), stream: true,
      });
      for await (const chunk of stream) content += chunk.choices[0]?.delta?.content ?? '';
      return content;
    }, { anyStatus: true });
    return { ...outcome, content };
  },

  // embeddings.create: the SDK asks for base64 by default and decodes it itself; also floats
  async embeddings({ baseURL, model }) {
    const input = ['first text', 'second text'];
    const b64 = await client(baseURL).embeddings.create({ model, input });
    const floats = await client(baseURL).embeddings.create({ model, input, encoding_format: 'float' });
    return {
      object: b64.object, model: b64.model, indexes: b64.data.map((d) => d.index),
      base64_vectors: b64.data.map((d) => Array.from(d.embedding)),
      float_vectors: floats.data.map((d) => d.embedding), usage: b64.usage,
    };
  },

  async models({ baseURL }) {
    const models = [];
    for await (const m of client(baseURL).models.list()) {
      models.push({ id: m.id, object: m.object, owned_by: m.owned_by });
    }
    return { models };
  },
};

await main('openai_client.mjs', CASES, CLASSES);
