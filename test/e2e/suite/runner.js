// A minimal mocha-like runner for the extension host (no dependencies): files register tests
// with test(name, fn); run() executes them in file order, one at a time, each with a time limit.
'use strict';

const registered = [];
let currentFile = '';

/** Registers a test; `fn` may be async. Options: { timeoutMs }. */
function test(name, fn, options = {}) {
  registered.push({ name, fn, file: currentFile, timeoutMs: options.timeoutMs ?? 30000 });
}

/** Marks a test pending: reported as skipped, never run. */
test.skip = (name, reason = 'pending') => registered.push({ name, file: currentFile, pending: reason });

function withTimeout(promise, ms, name) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${name}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function runAll(files) {
  for (const file of files) {
    currentFile = require('path').basename(file);
    require(file);
  }
  const results = [];
  for (const t of registered) {
    if (t.pending) {
      results.push({ name: t.name, file: t.file, status: 'pending', reason: t.pending });
      continue;
    }
    const started = performance.now();
    try {
      await withTimeout(Promise.resolve().then(t.fn), t.timeoutMs, t.name);
      results.push({ name: t.name, file: t.file, status: 'passed', ms: Math.round(performance.now() - started) });
    } catch (err) {
      results.push({ name: t.name, file: t.file, status: 'failed', ms: Math.round(performance.now() - started), error: String(err && err.stack ? err.stack : err) });
    }
  }
  return results;
}

module.exports = { test, runAll };
