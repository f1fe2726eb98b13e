/**
 * Tiny models of every tokenizer type for the engine tests, with the worker's own answers: built once
 * per machine by test/fixtures/families/build.py --no-runs --editor (the family checkpoints, and
 * exports of seeded random heads on them with PyTorch's and the worker's results), cached outside the
 * clone in the bert-studio cache (~/.cache/bert-studio/families/<hash>/editor-<hash>/).
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { dataDir, python, REPO } from './fixtures';

const BUILD = path.join(REPO, 'test/fixtures/families/build.py');

export const FAMILY_ARCHS = ['bert-uncased', 'bert-cased', 'roberta', 'distilbert', 'electra', 'deberta-v3', 'xlm-roberta', 'modernbert'] as const;
export type FamilyArch = (typeof FAMILY_ARCHS)[number];

/** build.py's reference.json for one architecture (UTF-16 offsets). */
export interface FamilyReference {
  /** null, with no fills and no mlm export, where the worker refuses MLM (the ELECTRA discriminator). */
  mask_token: string | null;
  fills: { template: string; text: string; top1: number; top1_text: string; margin: number }[];
  /** Python's tokenizer on running text, PyTorch's label per token. */
  entities: { text: string; ids: number[]; offsets: [number, number][]; words: (number | null)[]; labels: number[]; probabilities: number[] }[];
  /** The worker's NER path on pre-split words (joined by single spaces in text): label of each word's first token; margin: the smallest top-1 lead. */
  ner_words: { text: string; spans: [number, number][]; labels: (string | null)[]; probabilities: number[]; margin: number }[];
  /** The worker's `evaluate` predictions. */
  classify: { text: string; text_pair?: string; pred: string; probabilities: Record<string, number> }[];
  /** The worker's QA answer (whole words) as characters of context; margin: its score's lead over the next span's. */
  qa: { question: string; context: string; start: number; end: number; text: string; margin: number }[];
}

/** What the worker (trainer/bert_studio_trainer/families.py) says of each checkpoint: build.py's manifest.json. */
export interface FamilyFacts {
  model_type: string;
  tokenizer: string;
  checkpoint: string;
  facts: { positions: number | null; token_type_ids: boolean; mask_token: string | null };
  /** families.task_refusal for every task: the sentence, or null when the task can run. */
  refusals: Record<string, string | null>;
}

function build(editor: boolean): string[] | undefined {
  const py = python();
  if (!py || !fs.existsSync(path.join(dataDir(), 'conll2003'))) return undefined;
  const out = execFileSync(py, [BUILD, '--no-runs', '--data', dataDir(), ...(editor ? ['--editor'] : [])], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, BERT_STUDIO_NUM_THREADS: '1' } });
  return out.trim().split('\n');
}

/** The folder of the family checkpoints (built when missing), or undefined without Python and data. */
export function familiesFolder(): string | undefined {
  return build(false)?.pop();
}

/** The manifest of the family checkpoints (build.py's manifest.json), keyed by architecture. */
export function familyManifest(families: string): Record<string, FamilyFacts> {
  return JSON.parse(fs.readFileSync(path.join(families, 'manifest.json'), 'utf8')) as Record<string, FamilyFacts>;
}

/** `<dir>/<arch>/<task>/onnx` and the references, or undefined when they cannot be built here. */
export function ensureFamilyModels(): { dir: string; reference: Record<FamilyArch, FamilyReference>; manifest: Record<FamilyArch, FamilyFacts> } | undefined {
  const dir = build(true)?.pop();
  if (!dir) return undefined;
  return {
    dir,
    reference: JSON.parse(fs.readFileSync(path.join(dir, 'reference.json'), 'utf8')) as Record<FamilyArch, FamilyReference>,
    manifest: familyManifest(path.dirname(dir)),
  };
}

if (require.main === module) process.stdout.write(`family models: ${ensureFamilyModels()?.dir ?? 'none (no venv Python or shared data)'}\n`);
