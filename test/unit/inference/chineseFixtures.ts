/**
 * The Chinese fixtures (test/fixtures/chinese/build.py): a tiny masked LM pretrained from scratch by
 * the worker on the shared Chinese texts, a tiny MSRA NER model fine-tuned from it, and references
 * computed with onnxruntime in Python. Built once per machine, outside the clone (the bert-studio
 * cache), with no time limit: scripts/test.sh builds them before mocha, and a suite that finds them
 * missing builds them with its own timeout lifted.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { needSetup } from '../needSetup';
import { cacheRoot, dataDir, python, REPO } from './fixtures';

const SCRIPT = path.join(REPO, 'test/fixtures/chinese/build.py');

export interface ChineseReference {
  /** Brute-force top k of the consecutive masks in `text`, chain-rule log-probabilities. */
  fills: { text: string; k: number; top: { ids: number[]; logp: number }[] }[];
  /** Predicted (and, for MSRA sentences, gold) entities; start/end in code points. */
  entities: { text: string; entities: Entity[]; gold?: Entity[] }[];
}
export interface Entity { type: string; start: number; end: number }

/** `<dir>/mlm` and `<dir>/ner` (worker run folders) and the reference, or undefined without Python and the data. */
export function ensureChineseModels(): { dir: string; reference: ChineseReference } | undefined {
  const py = python();
  if (!py || !fs.existsSync(path.join(dataDir(), 'chnsenticorp')) || !fs.existsSync(path.join(dataDir(), 'msra_ner'))) return undefined;
  const out = execFileSync(py, [SCRIPT, '--data', dataDir(), '--out', cacheRoot()], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    maxBuffer: 64 * 1024 * 1024,
    env: { ...process.env, BERT_STUDIO_NUM_THREADS: process.env.BERT_STUDIO_NUM_THREADS ?? '1', OMP_NUM_THREADS: process.env.OMP_NUM_THREADS ?? '1' },
  });
  const dir = out.trim().split('\n').pop() as string;
  return { dir, reference: JSON.parse(fs.readFileSync(path.join(dir, 'reference.json'), 'utf8')) as ChineseReference };
}

/** Mocha set-up: the fixtures found or built in a `before` hook (no timeout while building). */
export function useChineseModels(): { readonly dir: string; readonly reference: ChineseReference } {
  const holder = {} as { dir: string; reference: ChineseReference };
  before(function () {
    this.timeout(0); // a first build trains two tiny models: minutes, never cut short
    const fx = ensureChineseModels();
    needSetup(this, fx, 'Chinese fixtures (the venv Python and shared chnsenticorp + msra_ner)');
    Object.assign(holder, fx);
  });
  return holder;
}

// `node out/test/unit/inference/chineseFixtures.js`: builds them before mocha (scripts/test.sh).
if (require.main === module) process.stdout.write(`chinese fixtures: ${ensureChineseModels()?.dir ?? 'none (no venv Python or shared data)'}\n`);
