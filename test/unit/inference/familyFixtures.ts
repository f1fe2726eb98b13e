/**
 * Tiny non-BERT models for the engine tests: the family checkpoints of test/fixtures/families/build.py
 * (checkpoints only), exported with PyTorch and Python-tokenizer references by
 * test/fixtures/inference/make_family_models.py, cached in the temp folder by the scripts' hash.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { dataDir, python, REPO } from './fixtures';

const FAMILIES = path.join(REPO, 'test/fixtures/families/build.py');
const SCRIPT = path.join(REPO, 'test/fixtures/inference/make_family_models.py');
const EXPORT = path.join(REPO, 'trainer/bert_studio_trainer/export.py');

export const FAMILY_ARCHS = ['roberta', 'xlm-roberta', 'deberta-v3', 'modernbert', 'distilbert', 'bert-cased'] as const;
export type FamilyArch = (typeof FAMILY_ARCHS)[number];

export interface FamilyReference {
  mask_token: string;
  fills: { template: string; text: string; top1: number; top1_text: string; margin: number }[];
  entities: { text: string; ids: number[]; offsets: [number, number][]; words: (number | null)[]; labels: number[]; probabilities: number[] }[];
}

/** The folder of the family checkpoints (built by build.py --no-runs when missing), or undefined without Python and data. */
export function familiesFolder(): string | undefined {
  const py = python();
  if (!py || !fs.existsSync(FAMILIES) || !fs.existsSync(path.join(dataDir(), 'conll2003'))) return undefined;
  const out = execFileSync(py, [FAMILIES, '--no-runs', '--data', dataDir()], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, BERT_STUDIO_NUM_THREADS: '1' } });
  return out.trim().split('\n').pop();
}

/** `<dir>/<arch>/{mlm,token_classification}/onnx` and the references, or undefined when they cannot be built here. */
/** What helper Python (trainer/bert_studio_trainer/families.py) says of each checkpoint: build.py's manifest.json. */
export interface FamilyFacts {
  model_type: string;
  tokenizer: string;
  facts: { positions: number | null; token_type_ids: boolean; mask_token: string | null };
}

export function ensureFamilyModels(): { dir: string; reference: Record<FamilyArch, FamilyReference>; manifest: Record<FamilyArch, FamilyFacts> } | undefined {
  const py = python();
  const families = familiesFolder();
  if (!py || !families) return undefined;
  const hash = createHash('sha256').update(fs.readFileSync(SCRIPT)).update(fs.readFileSync(EXPORT)).update(families).update(FAMILY_ARCHS.join(',')).digest('hex').slice(0, 12);
  const dir = path.join(os.tmpdir(), `bert-studio-family-models-${hash}`);
  if (!fs.existsSync(path.join(dir, 'reference.json'))) {
    const tmp = `${dir}.${process.pid}`;
    execFileSync(py, [SCRIPT, families, tmp, ...FAMILY_ARCHS], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, BERT_STUDIO_NUM_THREADS: '1' } });
    fs.rmSync(dir, { recursive: true, force: true });
    fs.renameSync(tmp, dir);
  }
  return {
    dir,
    reference: JSON.parse(fs.readFileSync(path.join(dir, 'reference.json'), 'utf8')) as Record<FamilyArch, FamilyReference>,
    manifest: JSON.parse(fs.readFileSync(path.join(families, 'manifest.json'), 'utf8')) as Record<FamilyArch, FamilyFacts>,
  };
}

if (require.main === module) process.stdout.write(`family models: ${ensureFamilyModels()?.dir ?? 'none (no venv Python or shared data)'}\n`);
