// common.mjs - what every SDK client script shares: its arguments, warning capture, and the
// one JSON line it prints (exit 0), or the unexpected exception it reports (exit 1).

const warnings = [];

// Everything an SDK (or node) says as a warning is kept and reported with the result.
process.on('warning', (w) => {
  warnings.push({ source: 'process', name: w.name, code: w.code ?? null, message: w.message });
});
const originalWarn = console.warn;
console.warn = (...args) => {
  warnings.push({ source: 'console.warn', message: args.map(String).join(' ') });
  originalWarn(...args);
};

// Usage: node <script> BASE_URL MODEL CASE   (or SDK_BASE_URL, SDK_MODEL, SDK_CASE)
export function args(script, cases) {
  const [baseURL, model, name] = [
    process.argv[2] ?? process.env.SDK_BASE_URL,
    process.argv[3] ?? process.env.SDK_MODEL,
    process.argv[4] ?? process.env.SDK_CASE,
  ];
  if (!baseURL || !model || !cases[name]) {
    process.stderr.write(`usage: node ${script} BASE_URL MODEL CASE\ncases: ${Object.keys(cases).join(', ')}\n`);
    process.exit(2);
  }
  return { baseURL, model, name };
}

// A response header from a fetch Headers object or a plain object; null when absent.
function header(headers, name) {
  if (!headers) return null;
  return (typeof headers.get === 'function' ? headers.get(name) : headers[name]) ?? null;
}

// The fields of an SDK error that a test asserts on.
export function describeError(e, classes) {
  const match = classes.find(([, cls]) => e instanceof cls);
  return {
    class: match ? match[0] : e?.constructor?.name ?? typeof e,
    status: e?.status ?? null,
    message: e?.message ?? String(e),
    body: e?.error ?? null,
    retry_after: header(e?.headers, 'retry-after'),
  };
}

async function settle() {
  // 'warning' events are emitted on a later tick: let them arrive before reporting.
  await new Promise((resolve) => setImmediate(resolve));
}

export async function main(script, cases, classes) {
  const a = args(script, cases);
  let result;
  try {
    result = await cases[a.name](a);
  } catch (e) {
    await settle();
    const out = { case: a.name, exception: describeError(e, classes), warnings };
    process.stdout.write(JSON.stringify(out) + '\n');
    process.stderr.write(`${script} ${a.name}: the SDK raised ${e?.stack ?? e}\n`);
    process.exit(1);
  }
  await settle();
  process.stdout.write(JSON.stringify({ case: a.name, ...result, warnings }) + '\n');
  process.exit(0);
}

// For cases that expect the SDK to raise an API error (an instance of apiError: with an HTTP
// status, or without one when anyStatus, as for an error event in a stream): returns {error}
// when it did, {returned} when it did not. Anything else it raises (a connection error, a
// parse error, a bug) propagates and fails the script.
export async function expectError(fn, apiError, classes, { anyStatus = false } = {}) {
  let value;
  try {
    value = await fn();
  } catch (e) {
    if (!(e instanceof apiError) || (e.status == null && !anyStatus)) throw e;
    return { error: describeError(e, classes) };
  }
  return { returned: value };
}
