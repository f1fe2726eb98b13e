// Activation in the real extension host: it happens, and it stays cheap (no model runtime).
'use strict';

const assert = require('assert');
const fs = require('fs');
const vscode = require('vscode');
const { test } = require('./runner');
const metrics = require('./metrics');

const EXTENSION_ID = 'bert-studio.bert-studio';
// Heavy modules that must load lazily, on first use of an inference feature, never on activation.
const HEAVY_MODULE = /[\\/]node_modules[\\/](onnxruntime-node|onnxruntime-web|onnxruntime-common|@huggingface[\\/]transformers|sharp|@img)[\\/]/;
const HEAVY_LIBRARY = /libonnxruntime|onnxruntime_binding|libvips|sharp-linux/;

function extension() {
  const ext = vscode.extensions.getExtension(EXTENSION_ID);
  assert.ok(ext, `${EXTENSION_ID} is not loaded`);
  return ext;
}

test('the extension is loaded', () => {
  const ext = extension();
  assert.strictEqual(ext.packageJSON.name, 'bert-studio');
  assert.strictEqual(ext.packageJSON.main, './dist/extension.js');
});

test('it activates', async () => {
  const ext = extension();
  metrics.record('activeBeforeTest', ext.isActive); // the fixture's .bert-studio/runs activates it
  const started = performance.now();
  await ext.activate();
  metrics.record('activateCallMs', performance.now() - started);
  assert.ok(ext.isActive, 'extension is not active after activate()');
});

test('activation loads no onnxruntime, transformers or sharp', () => {
  const loaded = Object.keys(require.cache).filter((k) => HEAVY_MODULE.test(k));
  assert.deepStrictEqual(loaded, [], `loaded on activation: ${loaded.slice(0, 5).join(', ')}`);
  if (fs.existsSync('/proc/self/maps')) {
    const libs = fs
      .readFileSync('/proc/self/maps', 'utf8')
      .split('\n')
      .filter((l) => HEAVY_LIBRARY.test(l))
      .map((l) => l.split(/\s+/).pop());
    assert.deepStrictEqual([...new Set(libs)], [], 'native libraries mapped on activation');
  }
  metrics.record('requireCacheSize', Object.keys(require.cache).length);
});
