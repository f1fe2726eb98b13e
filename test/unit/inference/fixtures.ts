/**
 * Tiny seeded models exported by export.py with PyTorch references, built once by the venv's
 * Python (test/fixtures/inference/make_models.py) and cached in the temp folder by script hash.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { needSetup } from '../needSetup';

export const REPO = path.resolve(__dirname, '../../../..');
const SCRIPT = path.join(REPO, 'test/fixtures/inference/make_models.py');
const EXPORT = path.join(REPO, 'trainer/bert_studio_trainer/export.py');

export interface OffsetCase {
  text: string;
  ids: number[];
  offsets: [number, number][];
  labels: number[];
  probabilities: number[];
  logits: number[][];
}

export interface Reference {
  sst2: string[];
  sst2_logits: number[][];
  offsets: OffsetCase[];
  mask_texts: string[];
  fills: { top1: number; margin: number; token: string }[];
  qa: { question: string; context: string; start_logits: number[]; end_logits: number[] };
}

export function python(): string | undefined {
  const candidates = [process.env.BERT_STUDIO_PYTHON, path.join(REPO, '.venv/bin/python'), path.join(REPO, '.venv/Scripts/python.exe')];
  return candidates.find((p): p is string => !!p && fs.existsSync(p));
}

/** Where slow-to-build test models live: outside the clone, built once per machine (BERT_STUDIO_CACHE). */
export function cacheRoot(): string {
  return process.env.BERT_STUDIO_CACHE ?? path.join(os.homedir(), '.cache', 'bert-studio');
}

/** The fill-mask default model's run folder (scripts/test.sh builds it; model/ and onnx/ inside). */
export function fillMaskModelFolder(): string {
  return path.join(cacheRoot(), 'fill-mask-model');
}

export function dataDir(): string {
  return process.env.BERT_STUDIO_DATA ?? path.resolve(REPO, '../shared/data');
}

/**
 * The trained tokenizer fixtures, one folder per kind (wordpiece-uncased, wordpiece-cased, bpe, unigram...):
 * built by test/fixtures/tokenizers/build_tokenizers.py once per machine, cached outside the clone;
 * undefined without the venv Python or the shared data.
 */
export function tokenizerFixtures(): string | undefined {
  const py = python();
  if (!py || !fs.existsSync(path.join(dataDir(), 'sst2/dev.tsv'))) return undefined;
  const build = path.join(REPO, 'test/fixtures/tokenizers/build_tokenizers.py');
  const out = execFileSync(py, [build, '--data', dataDir()], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, RAYON_NUM_THREADS: process.env.RAYON_NUM_THREADS ?? '2' } });
  return out.trim().split('\n').pop() ?? '';
}

/** The fixture folder (models in <dir>/<task>/onnx), or undefined when no Python is available. */
export function ensureFixtures(): { dir: string; reference: Reference } | undefined {
  const py = python();
  if (!py || !fs.existsSync(path.join(dataDir(), 'sst2/dev.tsv'))) return undefined;
  const hash = createHash('sha256').update(fs.readFileSync(SCRIPT)).update(fs.readFileSync(EXPORT)).digest('hex').slice(0, 12);
  const dir = path.join(os.tmpdir(), `bert-studio-inference-fixtures-${hash}`);
  if (!fs.existsSync(path.join(dir, 'reference.json'))) {
    const tmp = `${dir}.${process.pid}`;
    execFileSync(py, [SCRIPT, tmp, dataDir()], { stdio: ['ignore', 'ignore', 'pipe'] });
    fs.rmSync(dir, { recursive: true, force: true });
    fs.renameSync(tmp, dir);
  }
  return { dir, reference: JSON.parse(fs.readFileSync(path.join(dir, 'reference.json'), 'utf8')) as Reference };
}

/**
 * Mocha set-up for a suite on the fixtures: found or built in a `before` hook; the suite is skipped
 * (failed under CI) without them. The returned object is filled in by then.
 */
export function useFixtures(): { readonly dir: string; readonly reference: Reference } {
  const holder = {} as { dir: string; reference: Reference };
  before(function () {
    const fx = ensureFixtures();
    needSetup(this, fx, 'inference fixtures (the venv Python and shared SST-2)');
    Object.assign(holder, fx);
  });
  return holder;
}

export interface SureFill {
  text: string;
  top1: number;
  token: string;
  probability: number;
  /** The id of the word that was masked. */
  expected: number;
}

/**
 * The fill-mask default model (scripts/make-fill-mask-model.sh, in the bert-studio cache), exported and with PyTorch's
 * top-1 per sentence; cached by the weights' size and time. Undefined when there is none.
 */
export function ensureFillMaskModel(): { dir: string; fills: SureFill[] } | undefined {
  const py = python();
  const modelDir = path.join(fillMaskModelFolder(), 'model');
  const weights = path.join(modelDir, 'model.safetensors');
  if (!py || !fs.existsSync(weights)) return undefined;
  const st = fs.statSync(weights);
  const hash = createHash('sha256').update(fs.readFileSync(SCRIPT)).update(fs.readFileSync(EXPORT)).update(`${st.size}:${st.mtimeMs}`).digest('hex').slice(0, 12);
  const dir = path.join(os.tmpdir(), `bert-studio-fill-mask-${hash}`);
  if (!fs.existsSync(path.join(dir, 'fills.json'))) {
    const tmp = `${dir}.${process.pid}`;
    execFileSync(py, [SCRIPT, '--fill-mask', modelDir, tmp, dataDir()], { stdio: ['ignore', 'ignore', 'pipe'] });
    fs.rmSync(dir, { recursive: true, force: true });
    fs.renameSync(tmp, dir);
  }
  return { dir, fills: JSON.parse(fs.readFileSync(path.join(dir, 'fills.json'), 'utf8')) as SureFill[] };
}

// `node out/test/unit/inference/fixtures.js`: builds the fixtures before mocha runs (scripts/test.sh),
// so no test waits on a model build under its own timeout.
if (require.main === module) {
  const fx = ensureFixtures();
  const fm = ensureFillMaskModel();
  process.stdout.write(`inference fixtures: ${fx?.dir ?? 'none (no venv Python or shared data)'}\nfill-mask fixtures: ${fm?.dir ?? 'none (no fill-mask model)'}\n`);
}
