// The Linux x64 .vsix holds what the extension needs at run time and nothing else.
// Uses $BERT_STUDIO_VSIX, else builds (or reuses a fresh) one with scripts/package.mjs.
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const MAX_VSIX_MB = 40;

interface ZipEntry {
  readonly name: string;
  readonly method: number;
  readonly compressedSize: number;
  readonly size: number;
  readonly localHeader: number;
}

/** Reads a zip's central directory (no zip64: a .vsix stays well under 4 GiB). */
function readZip(file: string): { entries: ZipEntry[]; read: (e: ZipEntry) => Buffer } {
  const buf = fs.readFileSync(file);
  let eocd = buf.length - 22;
  while (eocd >= 0 && buf.readUInt32LE(eocd) !== 0x06054b50) eocd--;
  assert.ok(eocd >= 0, `${file} is not a zip`);
  const count = buf.readUInt16LE(eocd + 10);
  let p = buf.readUInt32LE(eocd + 16);
  const entries: ZipEntry[] = [];
  for (let i = 0; i < count; i++) {
    assert.equal(buf.readUInt32LE(p), 0x02014b50, 'bad central directory entry');
    const nameLength = buf.readUInt16LE(p + 28);
    const extraLength = buf.readUInt16LE(p + 30);
    const commentLength = buf.readUInt16LE(p + 32);
    entries.push({
      name: buf.toString('utf8', p + 46, p + 46 + nameLength),
      method: buf.readUInt16LE(p + 10),
      compressedSize: buf.readUInt32LE(p + 20),
      size: buf.readUInt32LE(p + 24),
      localHeader: buf.readUInt32LE(p + 42),
    });
    p += 46 + nameLength + extraLength + commentLength;
  }
  const read = (e: ZipEntry): Buffer => {
    const start = e.localHeader + 30 + buf.readUInt16LE(e.localHeader + 26) + buf.readUInt16LE(e.localHeader + 28);
    const data = buf.subarray(start, start + e.compressedSize);
    return e.method === 0 ? Buffer.from(data) : zlib.inflateRawSync(data);
  };
  return { entries, read };
}

function vsixFile(): string {
  if (process.env.BERT_STUDIO_VSIX) return path.resolve(process.env.BERT_STUDIO_VSIX);
  const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { name: string; version: string };
  const out = path.join(ROOT, `${manifest.name}-${manifest.version}-linux-x64.vsix`);
  execFileSync(process.execPath, [path.join(ROOT, 'scripts', 'package.mjs'), '--if-stale', '--out', out], { cwd: ROOT, stdio: 'pipe' });
  return out;
}

describe('packaging: the linux-x64 .vsix', function () {
  this.timeout(180_000);
  let file: string;
  let zip: ReturnType<typeof readZip>;
  let names: string[];

  before(() => {
    file = vsixFile();
    zip = readZip(file);
    names = zip.entries.map((e) => e.name);
  });

  it('holds the bundles, the manifest, the trainer package and the Linux x64 onnxruntime and tokenizers binaries', () => {
    for (const required of [
      'extension/package.json',
      'extension/dist/extension.js',
      'extension/dist/cli.js',
      'extension/trainer/bert_studio_trainer/__init__.py',
      'extension/trainer/pyproject.toml',
      'extension/node_modules/@huggingface/transformers/package.json',
      'extension/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/onnxruntime_binding.node',
      'extension/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime.so.1',
      'extension/node_modules/tokenizers/tokenizers.linux-x64-gnu.node',
      'extension/media/bert-studio.svg',
    ]) {
      assert.ok(names.includes(required), `missing ${required}`);
    }
    const manifest = zip.read(zip.entries.find((e) => e.name === 'extension.vsixmanifest')!).toString('utf8');
    assert.match(manifest, /TargetPlatform="linux-x64"/);
  });

  it('holds no binaries for other platforms', () => {
    const foreign = names.filter(
      (n) => /[/\\](darwin|win32|linux[/\\]arm64|linuxmusl|[^/]*-arm64|[^/]*-arm|[^/]*-ppc64|[^/]*-s390x|[^/]*-riscv64|[^/]*wasm32)[/\\-]/.test(n) || /\.(dylib|dll|exe|wasm)$/.test(n),
    );
    assert.deepEqual(foreign, []);
    const natives = names.filter((n) => n.endsWith('.node'));
    assert.ok(natives.length > 0 && natives.every((n) => /linux[-/]x64/.test(n)), `native modules: ${natives.join(', ')}`);
  });

  it('holds no sources, tests, virtualenv or build leftovers', () => {
    const unwanted = names.filter(
      (n) =>
        /\.(ts|mts|cts|tsbuildinfo|map|pyc)$/.test(n) ||
        /^extension\/(src|out|test|webview|bench|scripts|\.venv|\.ci|\.bert-studio|test-results)\//.test(n) ||
        /^extension\/trainer\/tests\//.test(n) ||
        /(^|\/)(__pycache__|\.pytest_cache|[^/]*\.egg-info)\//.test(n) ||
        /\.test\.js$/.test(n) ||
        /^extension\/node_modules\/(onnxruntime-web|protobufjs|@types|typescript|esbuild|mocha|@vscode\/vsce)\//.test(n),
    );
    assert.deepEqual(unwanted.slice(0, 20), []);
  });

  it(`stays under ${MAX_VSIX_MB} MB`, () => {
    const mb = fs.statSync(file).size / 1024 / 1024;
    assert.ok(mb < MAX_VSIX_MB, `${mb.toFixed(1)} MB`);
  });

  it('loads @huggingface/transformers, onnxruntime-node and tokenizers from the packaged files alone', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bert-studio-vsix-'));
    try {
      for (const e of zip.entries) {
        if (!e.name.startsWith('extension/') || e.name.endsWith('/')) continue;
        const target = path.join(dir, e.name);
        fs.mkdirSync(path.dirname(target), { recursive: true });
        fs.writeFileSync(target, zip.read(e));
      }
      const ext = path.join(dir, 'extension');
      const script = `
        const t = require(${JSON.stringify(path.join(ext, 'node_modules/@huggingface/transformers'))});
        const ort = require(${JSON.stringify(path.join(ext, 'node_modules/onnxruntime-node'))});
        const tk = require(${JSON.stringify(path.join(ext, 'node_modules/tokenizers'))});
        if (typeof t.pipeline !== 'function' || typeof ort.InferenceSession?.create !== 'function') process.exit(2);
        const tok = tk.Tokenizer.fromString(JSON.stringify({ version: '1.0', model: { type: 'WordLevel', vocab: { hi: 0, '[UNK]': 1 }, unk_token: '[UNK]' }, pre_tokenizer: { type: 'Whitespace' } }));
        tok.encode('hi 😀').then((e) => {
          if (JSON.stringify(e.getIds()) !== '[0,1]') process.exit(3);
          console.log('ok');
        });`;
      const out = execFileSync(process.execPath, ['-e', script], { cwd: dir, encoding: 'utf8', env: { ...process.env, NODE_PATH: '' } });
      assert.equal(out.trim(), 'ok');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
