// One cold measurement in plain Node: require(<extension>/dist/extension.js) and activate() with
// a stub `vscode` module. Prints one JSON line. Run by bench/activation.mjs, once per process.
//   node bench/activation-node.cjs <extension folder> <workspace folder>
'use strict';

const Module = require('module');
const path = require('path');

const [extensionDir, workspace] = process.argv.slice(2);
const logged = [];

// A stub that answers any API shape: every property is a callable, constructible stub; promises
// resolve to undefined; iteration yields nothing. The few values activation reads are real.
function stub(name) {
  const target = function () {};
  return new Proxy(target, {
    get(_t, prop) {
      if (prop === 'then') return undefined;
      if (prop === Symbol.iterator) return function* () {};
      if (prop === Symbol.toPrimitive) return () => '';
      if (typeof prop === 'symbol') return undefined;
      return stub(`${name}.${prop}`);
    },
    apply: () => stub(`${name}()`),
    construct: () => stub(`new ${name}`),
  });
}

const config = { get: (_k, d) => d, has: () => false, inspect: () => undefined, update: async () => undefined };
const channel = new Proxy({}, {
  get: (_t, prop) => (prop === 'then' ? undefined : (...args) => {
    if (typeof args[0] === 'string') logged.push(args[0]);
  }),
});
const overrides = {
  window: { createOutputChannel: () => channel },
  workspace: {
    workspaceFolders: [{ uri: { scheme: 'file', fsPath: workspace, path: workspace }, name: path.basename(workspace), index: 0 }],
    isTrusted: true,
    getConfiguration: () => config,
  },
  env: { appName: 'bench', language: 'en' },
};
// esbuild's ESM interop copies the module's own property names, so the stub lists the API's
// top-level names (read from @types/vscode).
const apiNames = (() => {
  try {
    const dts = require('fs').readFileSync(require.resolve('@types/vscode/index.d.ts', { paths: [__dirname] }), 'utf8');
    return [...new Set([...dts.matchAll(/^\t(?:export )?(?:class|enum|namespace|function|const|let) (\w+)/gm)].map((m) => m[1]))];
  } catch {
    return ['window', 'workspace', 'commands', 'env', 'extensions', 'languages', 'Uri', 'EventEmitter', 'TreeItem', 'ThemeIcon', 'ThemeColor', 'Disposable', 'RelativePattern', 'MarkdownString', 'TreeItemCollapsibleState', 'StatusBarAlignment'];
  }
})();
const namespaces = new Map();
const vscode = new Proxy({}, {
  ownKeys: () => apiNames,
  // Only `enumerable` is read here; values go through get().
  getOwnPropertyDescriptor: (_t, prop) => (apiNames.includes(prop) ? { configurable: true, enumerable: true, writable: true, value: undefined } : undefined),
  get(_t, prop) {
    if (prop === 'then' || typeof prop === 'symbol') return undefined;
    if (!namespaces.has(prop)) {
      const o = overrides[prop];
      namespaces.set(prop, o ? new Proxy(o, { get: (oo, p) => (p in oo ? oo[p] : p === 'then' ? undefined : stub(`${prop}.${String(p)}`)) }) : stub(prop));
    }
    return namespaces.get(prop);
  },
});

const load = Module._load;
Module._load = function (request, parent, isMain) {
  if (request === 'vscode') return vscode;
  return load.call(this, request, parent, isMain);
};

const memento = { get: (_k, d) => d, update: async () => undefined, keys: () => [], setKeysForSync: () => undefined };
const context = {
  subscriptions: [],
  extensionPath: extensionDir,
  extensionUri: { scheme: 'file', fsPath: extensionDir, path: extensionDir },
  globalState: memento,
  workspaceState: memento,
  globalStorageUri: stub('globalStorageUri'),
  storageUri: stub('storageUri'),
  logUri: stub('logUri'),
  asAbsolutePath: (p) => path.join(extensionDir, p),
  extensionMode: 1,
  environmentVariableCollection: stub('environmentVariableCollection'),
  secrets: stub('secrets'),
};

const t0 = performance.now();
const extension = require(path.join(extensionDir, 'dist', 'extension.js'));
const t1 = performance.now();
extension.activate(context);
const t2 = performance.now();
const heavy = Object.keys(require.cache).filter((k) => /node_modules[\\/](onnxruntime-|@huggingface|sharp)/.test(k));
const line = logged.find((l) => /activated in/.test(l));
console.log(JSON.stringify({
  requireMs: t1 - t0,
  activateMs: t2 - t1,
  loggedMs: line ? Number(/activated in ([\d.]+)/.exec(line)[1]) : null,
  heavyModulesLoaded: heavy.length,
  subscriptions: context.subscriptions.length,
}));
process.exit(0);
