// Choosing a model: a local folder, a run of the workspace, the Hugging Face cache (offline), a hub id
// (refused at once offline, with the fix), and what is shown before launch. Real tiny checkpoints of
// test/fixtures/families/build.py, laid out in a fake Hugging Face cache.
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parameterCount, readConfigJson } from '../../../src/core/models/config';
import { describeLines, describeModel, modelTaskProblem } from '../../../src/core/models/describe';
import { cachedModel, hfHubCache, listCachedModels, resolveModel } from '../../../src/core/models/resolve';
import { studioLayout } from '../../../src/core/paths';
import { checkRunSpec, planRun, type RunEnvironment } from '../../../src/core/runs/create';
import { resolveModelArg } from '../../../src/cli/commands/infer';
import { InferenceEngine } from '../../../src/core/inference/engine';
import { ensureFamilyModels, familiesFolder, familyManifest } from '../inference/familyFixtures';
import { python } from '../inference/fixtures';
import { needSetup } from '../needSetup';

/** A fake hub cache entry for `id` holding a copy of `checkpoint` as revision `rev` (refs/main names `main`). */
function cacheModel(hub: string, id: string, checkpoint: string, rev: string, main = rev): string {
  const entry = path.join(hub, `models--${id.split('/').join('--')}`);
  const snap = path.join(entry, 'snapshots', rev);
  fs.mkdirSync(snap, { recursive: true });
  for (const f of fs.readdirSync(checkpoint)) fs.copyFileSync(path.join(checkpoint, f), path.join(snap, f));
  fs.mkdirSync(path.join(entry, 'refs'), { recursive: true });
  fs.writeFileSync(path.join(entry, 'refs', 'main'), main);
  return snap;
}

const never = async (): Promise<boolean> => {
  throw new Error('the hub was asked although HF_HUB_OFFLINE is set');
};

describe('choosing a model: folder, run, Hugging Face cache, hub id', function () {
  this.timeout(600_000);
  let families: string | undefined;
  let tmp: string;
  let hub: string;
  let env: NodeJS.ProcessEnv;
  const ckpt = (arch: string): string => path.join(families ?? '', arch, 'checkpoint');

  before(function () {
    families = familiesFolder();
    needSetup(this, families, 'family checkpoints (test/fixtures/families/build.py: the venv Python and shared data)');
  });
  beforeEach(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bert-studio-models-'));
    hub = path.join(tmp, 'hub');
    env = { HF_HUB_CACHE: hub, HF_HUB_OFFLINE: '1' };
  });
  afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('finds the cache where huggingface_hub does: HF_HUB_CACHE, HF_HOME/hub, XDG_CACHE_HOME', () => {
    assert.equal(hfHubCache({ HF_HUB_CACHE: '/a' }), '/a');
    assert.equal(hfHubCache({ HF_HOME: '/h' }), path.join('/h', 'hub'));
    assert.equal(hfHubCache({ XDG_CACHE_HOME: '/x' }), path.join('/x', 'huggingface', 'hub'));
  });

  it('lists the cached models offline, at the revision refs/main names, and resolves an id to its snapshot', async () => {
    const current = cacheModel(hub, 'tiny-org/tiny-roberta', ckpt('roberta'), 'bbbb');
    cacheModel(hub, 'tiny-org/tiny-roberta', ckpt('bert-cased'), 'aaaa', 'bbbb'); // an older revision beside it
    cacheModel(hub, 'tiny-xlmr', ckpt('xlm-roberta'), 'cccc');
    fs.mkdirSync(path.join(hub, 'models--broken--no-snapshot'), { recursive: true });
    fs.mkdirSync(path.join(hub, 'datasets--some--data'), { recursive: true });
    assert.deepEqual(listCachedModels(env).map((m) => [m.id, m.revision]), [['tiny-org/tiny-roberta', 'bbbb'], ['tiny-xlmr', 'cccc']]);
    assert.equal(cachedModel('tiny-org/tiny-roberta', env)?.folder, current);
    const r = await resolveModel('tiny-org/tiny-roberta', { env, online: never });
    assert.deepEqual([r.source, r.folder, r.id], ['cache', current, 'tiny-org/tiny-roberta']);
    // HF_HOME instead of HF_HUB_CACHE
    assert.equal((await resolveModel('tiny-xlmr', { env: { HF_HOME: tmp, HF_HUB_OFFLINE: '1' }, online: never })).source, 'cache');
  });

  it('offline, an uncached hub id fails at once, naming the id, that it is not cached, and how to get it', async () => {
    await assert.rejects(resolveModel('nobody/not-cached', { env, online: never }), (err: Error) => {
      assert.match(err.message, /"nobody\/not-cached" is not in the Hugging Face cache/);
      assert.match(err.message, /HF_HUB_OFFLINE is set/);
      assert.match(err.message, /huggingface-cli download nobody\/not-cached/);
      assert.ok(err.message.includes(hub), 'names the cache folder to copy it into');
      return true;
    });
    // Without HF_HUB_OFFLINE: the probe decides; an unreachable hub is refused the same way.
    await assert.rejects(resolveModel('nobody/not-cached', { env: { HF_HUB_CACHE: hub }, online: async () => false }), /cannot be reached/);
    assert.equal((await resolveModel('nobody/not-cached', { env: { HF_HUB_CACHE: hub }, online: async () => true })).source, 'hub');
    await assert.rejects(resolveModel('./no/such/folder', { env, online: never }), /no model folder/);
  });

  it('a run of the workspace, by id or folder, trains from best/ (else model/)', async () => {
    const ws = path.join(tmp, 'ws');
    const run = path.join(studioLayout(ws).runsDir, 'run-1');
    fs.mkdirSync(run, { recursive: true });
    fs.writeFileSync(path.join(run, 'spec.json'), '{}');
    await assert.rejects(resolveModel('run-1', { workspace: ws, env }), /has no trained model yet/);
    fs.cpSync(ckpt('roberta'), path.join(run, 'model'), { recursive: true });
    assert.equal((await resolveModel('run-1', { workspace: ws, env })).folder, path.join(run, 'model'));
    fs.cpSync(ckpt('roberta'), path.join(run, 'best'), { recursive: true });
    const byId = await resolveModel('run-1', { workspace: ws, env });
    assert.deepEqual([byId.source, byId.folder, byId.run], ['run', path.join(run, 'best'), 'run-1']);
    assert.equal((await resolveModel(run, { env })).folder, path.join(run, 'best'));
  });

  it('describes a model before launch: architecture, parameters (as PyTorch counts them), positions, vocabulary, tokenizer', async function () {
    const py = python();
    needSetup(this, py, 'the venv Python');
    for (const [arch, kind] of [['roberta', /byte-level BPE, cased, mask <mask>, no token type ids/], ['xlm-roberta', /Unigram \(SentencePiece\)/], ['bert-uncased', /WordPiece, uncased, mask \[MASK\]$/]] as const) {
      const d = await describeModel(ckpt(arch));
      const config = readConfigJson(ckpt(arch));
      const torchCount: number = Number(execFileSync(py, ['-c', 'import sys, transformers as t; m = getattr(t, t.AutoConfig.from_pretrained(sys.argv[1]).architectures[0]).from_pretrained(sys.argv[1]); print(m.num_parameters())', ckpt(arch)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
      assert.deepEqual(d.parameters, { count: torchCount, source: 'weights' }, arch);
      const positions = (config.max_position_embeddings as number) - (arch === 'bert-uncased' ? 0 : (config.pad_token_id as number) + 1);
      assert.equal(d.maxPositions, positions, arch);
      assert.equal(d.vocabSize, config.vocab_size);
      const lines = describeLines(d);
      assert.match(lines[0], new RegExp(`^Architecture: ${config.model_type as string} \\(`));
      assert.match(lines[4], kind);
      // Without weights, the estimate from config.json is within 10% of the count.
      const bare = path.join(tmp, arch);
      fs.mkdirSync(bare, { recursive: true });
      fs.copyFileSync(path.join(ckpt(arch), 'config.json'), path.join(bare, 'config.json'));
      const est = parameterCount(bare, config);
      assert.equal(est?.source, 'estimate');
      assert.ok(Math.abs((est?.count ?? 0) - torchCount) / torchCount < 0.1, `${arch}: estimate ${est?.count} vs ${torchCount}`);
    }
  });

  it('pre-launch refuses max_seq_length over the positions (RoBERTa offset), mlm_nsp without NSP, mlm on an ELECTRA discriminator, NER without tokenizer files', async () => {
    const ws = path.join(tmp, 'ws');
    fs.mkdirSync(ws, { recursive: true });
    const txt = path.join(ws, 'corpus.txt');
    fs.writeFileSync(txt, 'One sentence.\nAnother one.\n');
    const renv: RunEnvironment = { datasetsDir: studioLayout(ws).datasetsDir, python: 'python3', cwd: ws, workspace: ws, env, online: never };
    const plan = (task: string, model: string, training?: Record<string, unknown>) => planRun({ task, model, train: txt, training }, renv);
    const roberta = cacheModel(hub, 'tiny-org/tiny-roberta', ckpt('roberta'), 'bbbb');
    const positions = readConfigJson(roberta).max_position_embeddings as number;
    const over = await plan('mlm', 'tiny-org/tiny-roberta', { max_seq_length: positions - 1 });
    assert.equal(over.spec?.model.name_or_path, roberta, 'a cached id trains from its snapshot folder: no network');
    assert.deepEqual(over.problems.map((p) => p.field), ['training.max_seq_length']);
    assert.match(over.problems[0].message, new RegExp(`maximum of ${positions - 2} positions`));
    assert.deepEqual((await plan('mlm', 'tiny-org/tiny-roberta', { max_seq_length: positions - 2 })).problems, []);
    const nsp = await plan('mlm_nsp', ckpt('roberta'));
    assert.deepEqual(nsp.problems.map((p) => p.field), ['task']);
    assert.match(nsp.problems[0].message, /needs a model with an NSP head, .*this roberta model has none. Use the mlm task instead/);
    assert.deepEqual((await plan('mlm_nsp', ckpt('bert-uncased'))).problems, []);
    const electra = await plan('mlm', ckpt('electra'));
    assert.match(electra.problems.map((p) => p.message).join('\n'), /pretraining head \(discriminator_predictions\) is not a masked-LM head/);
    const offline = await plan('mlm', 'nobody/not-cached');
    assert.deepEqual(offline.problems.map((p) => p.field), ['model.name_or_path']);
    assert.match(offline.problems[0].message, /not in the Hugging Face cache.*huggingface-cli download nobody\/not-cached/);
    // NER needs a tokenizer with offsets: a folder with the weights and config alone is refused.
    const bare = path.join(tmp, 'no-tokenizer');
    fs.mkdirSync(bare);
    for (const f of ['config.json', 'model.safetensors']) fs.copyFileSync(path.join(ckpt('roberta'), f), path.join(bare, f));
    assert.match(modelTaskProblem(bare, 'token_classification') ?? '', /no tokenizer files/);
    assert.equal(modelTaskProblem(ckpt('roberta'), 'token_classification'), undefined);
    const spec = { ...over.spec!, task: 'token_classification' as const, model: { name_or_path: bare }, training: {} };
    assert.match((await checkRunSpec(spec, renv)).map((p) => p.message).join('\n'), /token_classification needs the character offsets/);
  });

  it('refuses exactly what the worker refuses, in its words (architectures.json), for every checkpoint and task', () => {
    const manifest = familyManifest(families!);
    assert.ok('roberta-bertweet' in manifest, 'the Python-only tokenizer checkpoint');
    let refused = 0;
    for (const [arch, entry] of Object.entries(manifest)) {
      for (const [task, worker] of Object.entries(entry.refusals)) {
        assert.equal(modelTaskProblem(path.join(families!, entry.checkpoint), task) ?? null, worker, `${arch} ${task}`);
        if (worker) refused++;
      }
    }
    // NSP for every non-BERT, MLM on the ELECTRA discriminator, NER and QA with a Python-only tokenizer.
    assert.ok(refused >= 9, `${refused} refusals`);
  });

  it('a Python-only tokenizer (no tokenizer.json, no fast version) is described as such and refused before launch for NER and QA', async () => {
    const slow = path.join(families!, 'roberta-bertweet', 'checkpoint');
    const d = await describeModel(slow);
    assert.equal(d.tokenizer, undefined);
    assert.match(describeLines(d)[4], /^Tokenizer: BertweetTokenizer \(Python only, no character offsets: vocab\.txt/);
    const ws = path.join(tmp, 'ws');
    fs.mkdirSync(ws, { recursive: true });
    const renv: RunEnvironment = { datasetsDir: studioLayout(ws).datasetsDir, python: 'python3', cwd: ws, workspace: ws, env, online: never };
    const conll = path.join(ws, 'ner.conll');
    fs.writeFileSync(conll, 'Ada B-PER\nwrote O\n\nLondon B-LOC\nis O\n');
    const plan = await planRun({ task: 'token_classification', model: slow, train: conll }, renv);
    const problem = plan.problems.find((p) => p.field === 'model.name_or_path');
    assert.match(problem?.message ?? '', /^token_classification needs character offsets, .*\(BertweetTokenizer\) has no fast version in transformers; start from a checkpoint with a fast tokenizer/);
    assert.equal(modelTaskProblem(slow, 'sequence_classification'), undefined);
  });

  it('predict and fill-mask take a cached id whose snapshot has an ONNX export (transformers.js layout), and name the cache when it is missing', async () => {
    const fx = ensureFamilyModels();
    assert.ok(fx, 'family models');
    const onnx = path.join(fx.dir, 'roberta', 'mlm', 'onnx');
    const snap = cacheModel(hub, 'tiny-org/tiny-roberta-onnx', onnx, 'dddd');
    fs.mkdirSync(path.join(snap, 'onnx'));
    fs.renameSync(path.join(snap, 'model.onnx'), path.join(snap, 'onnx', 'model.onnx'));
    const saved = process.env.HF_HUB_CACHE;
    process.env.HF_HUB_CACHE = hub;
    const engine = new InferenceEngine();
    try {
      assert.equal(resolveModelArg('tiny-org/tiny-roberta-onnx', tmp), snap);
      const r = await engine.fillMask(resolveModelArg('tiny-org/tiny-roberta-onnx', tmp), 'The capital of France is <mask>.', 3);
      assert.equal(r.maskToken, '<mask>');
      assert.throws(() => resolveModelArg('nobody/not-cached', tmp), (err: Error) => err.message.includes('no "nobody/not-cached" in the Hugging Face cache') && err.message.includes(hub));
    } finally {
      await engine.dispose();
      if (saved === undefined) delete process.env.HF_HUB_CACHE;
      else process.env.HF_HUB_CACHE = saved;
    }
  });
});
