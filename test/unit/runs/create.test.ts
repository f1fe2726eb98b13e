// One run-creation path (src/core/runs/create.ts): the spec and every problem, and a run folder
// only when there is none. Real files: a snapshot imported from shared SST-2, hostile files made
// here, model folders with real config.json layouts.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { importDataset } from '../../../src/core/datasets/snapshot';
import { studioLayout } from '../../../src/core/paths';
import { checkRunSpec, createRun, dataFileProblem, planRun, type RunEnvironment } from '../../../src/core/runs/create';
import { modelMaxPositions } from '../../../src/core/runs/launch';
import { RunFolderError, RunStore } from '../../../src/core/runs/store';
import { DATA, tmpDir } from '../datasets/helpers';
import { needSetup } from '../needSetup';

function runFolders(runsDir: string): string[] {
  return fs.existsSync(runsDir) ? fs.readdirSync(runsDir) : [];
}

/** A model folder with this config.json and an (empty) weights file of the given name. */
function modelFolder(dir: string, config: Record<string, unknown>, weights = 'model.safetensors'): string {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config));
  if (weights) fs.writeFileSync(path.join(dir, weights), '');
  return dir;
}

describe('run creation: one path for the wizard and the CLI', function () {
  this.timeout(60_000);
  let ws: string;
  let env: RunEnvironment;
  let store: RunStore;
  let tsv: string;

  beforeEach(() => {
    ws = tmpDir('bert-studio-create-');
    const layout = studioLayout(ws);
    env = { datasetsDir: layout.datasetsDir, python: 'python3', cwd: ws };
    store = new RunStore(layout.runsDir);
    tsv = path.join(ws, 'train.tsv');
    fs.writeFileSync(tsv, 'sentence\tlabel\na fine film\t1\na dull film\t0\n');
  });
  afterEach(() => fs.rmSync(ws, { recursive: true, force: true }));

  it('a sound request makes one folder holding spec.json, with relative files taken from cwd', async () => {
    const r = await createRun(store, { request: { task: 'sequence_classification', train: 'train.tsv', training: { num_train_epochs: 2 } } }, env);
    assert.deepEqual(r.problems, []);
    assert.ok(r.run);
    assert.deepEqual(runFolders(store.runsDir), [r.run.id]);
    const written = JSON.parse(fs.readFileSync(path.join(r.run.dir, 'spec.json'), 'utf8')) as { data: { train: string }; training: Record<string, unknown> };
    assert.equal(written.data.train, tsv);
    assert.equal(written.training.num_train_epochs, 2);
    assert.deepEqual(fs.readdirSync(r.run.dir), ['spec.json'], 'no temporary file is left');
  });

  it('a refused request reports every problem at once and leaves no folder, not even runs/', async () => {
    const r = await createRun(
      store,
      {
        request: {
          task: 'question_answering',
          model: './no/such/model',
          train: 'missing.json',
          validation: ws,
          device: 'tpu',
          training: { num_train_epochs: 0, per_device_train_batch_size: 0, learning_rate: -1, warmup_ratio: 5, max_seq_length: 64, epochs: 3 },
          maxTrainSamples: 0,
        },
      },
      env,
    );
    assert.equal(r.run, undefined);
    const fields = r.problems.map((p) => p.field).sort();
    assert.deepEqual(fields, [
      'data.max_train_samples',
      'data.train',
      'data.validation',
      'device',
      'model.name_or_path',
      'training.doc_stride',
      'training.epochs',
      'training.learning_rate',
      'training.num_train_epochs',
      'training.per_device_train_batch_size',
      'training.warmup_ratio',
    ]);
    assert.match(r.problems.find((p) => p.field === 'training.epochs')?.message ?? '', /did you mean num_train_epochs\?/);
    assert.match(r.problems.find((p) => p.field === 'data.train')?.message ?? '', new RegExp(`no such file: ${path.join(ws, 'missing.json').replace(/[/\\.]/g, '\\$&')}`));
    assert.match(r.problems.find((p) => p.field === 'training.doc_stride')?.message ?? '', /doc_stride 128 must be smaller than max_seq_length 64.*doc_stride=16/);
    assert.equal(fs.existsSync(path.join(ws, '.bert-studio')), false);
  });

  it('training must be an object (a hand-edited spec with "training": [] is refused, not run with defaults)', async () => {
    const plan = await planRun({ task: 'sequence_classification', train: tsv }, env);
    assert.ok(plan.spec);
    for (const training of [[], null, 'fast', 3]) {
      const problems = await checkRunSpec({ ...plan.spec, training: training as never }, env);
      assert.deepEqual(problems.map((p) => p.field), ['training'], JSON.stringify(training));
      assert.match(problems[0]?.message ?? '', /must be an object/);
    }
  });

  it('data files: missing, a folder, a device, empty, binary and UTF-16 are refused naming the file', async () => {
    const nul = path.join(ws, 'model.bin');
    fs.writeFileSync(nul, Buffer.from([0x50, 0x4b, 0x03, 0x04, 0x00, 0x00, 0x41]));
    const utf16 = path.join(ws, 'utf16.tsv');
    fs.writeFileSync(utf16, Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('text\tlabel\n', 'utf16le')]));
    const empty = path.join(ws, 'empty.tsv');
    fs.writeFileSync(empty, '');
    const cases: [string, RegExp][] = [
      [path.join(ws, 'nope.tsv'), /no such file/],
      [ws, /is a folder; give a data file/],
      [nul, /looks binary \(a NUL byte at offset 4\)/],
      [utf16, /UTF-16 text; save it as UTF-8/],
      [empty, /is empty/],
    ];
    if (fs.existsSync('/dev/zero')) cases.push(['/dev/zero', /not a regular file/]);
    for (const [file, want] of cases) {
      const p = await dataFileProblem('data.train', file, 'sequence_classification');
      assert.ok(p, file);
      assert.equal(p.field, 'data.train');
      assert.match(p.message, want);
      assert.ok(p.message.includes(file), `${p.message} names ${file}`);
    }
    assert.equal(await dataFileProblem('data.train', tsv, 'sequence_classification'), undefined);
  });

  it('a folder is a corpus for pretraining only when it holds .txt files, each of them text', async () => {
    const corpus = path.join(ws, 'corpus');
    fs.mkdirSync(corpus);
    assert.match((await dataFileProblem('data.train', corpus, 'mlm'))?.message ?? '', /holds no \.txt files/);
    fs.writeFileSync(path.join(corpus, 'a.txt'), 'One sentence.\nAnother one.\n');
    assert.equal(await dataFileProblem('data.train', corpus, 'mlm'), undefined);
    fs.writeFileSync(path.join(corpus, 'b.txt'), Buffer.from([0x41, 0x00, 0x42]));
    const p = await dataFileProblem('data.train', corpus, 'mlm_nsp');
    assert.ok(p?.message.includes(path.join(corpus, 'b.txt')), p?.message);
  });

  it("max_seq_length is checked against the model's positions, less RoBERTa's offset of pad_token_id + 1", async () => {
    const bert = modelFolder(path.join(ws, 'bert'), { model_type: 'bert', max_position_embeddings: 512, pad_token_id: 0 });
    const roberta = modelFolder(path.join(ws, 'roberta'), { model_type: 'roberta', max_position_embeddings: 514, pad_token_id: 1 });
    const xlmr = modelFolder(path.join(ws, 'xlmr'), { model_type: 'xlm-roberta', max_position_embeddings: 514, pad_token_id: 1 });
    assert.equal(modelMaxPositions(bert), 512);
    assert.equal(modelMaxPositions(roberta), 512);
    assert.equal(modelMaxPositions(xlmr), 512);
    const plan = async (model: string, max_seq_length: number): Promise<string[]> =>
      (await planRun({ task: 'sequence_classification', model, train: tsv, training: { max_seq_length } }, env)).problems.map((p) => p.field);
    assert.deepEqual(await plan(roberta, 513), ['training.max_seq_length']);
    assert.deepEqual(await plan(roberta, 512), []);
    assert.deepEqual(await plan(bert, 512), []);
    assert.deepEqual(await plan(bert, 100_000), ['training.max_seq_length']);
    const p = (await planRun({ task: 'sequence_classification', model: roberta, train: tsv, training: { max_seq_length: 100_000 } }, env)).problems[0];
    assert.match(p?.message ?? '', /over the model's maximum of 512 positions; use at most 512/);
  });

  it('model folders follow the worker\'s rules: config.json, safetensors weights, no unasked pickles', async () => {
    const noConfig = path.join(ws, 'empty-model');
    fs.mkdirSync(noConfig);
    const pickled = modelFolder(path.join(ws, 'pickled'), { model_type: 'bert', max_position_embeddings: 512 }, 'pytorch_model.bin');
    const noWeights = modelFolder(path.join(ws, 'noweights'), { model_type: 'bert', max_position_embeddings: 512 }, '');
    const cases: [string, RegExp][] = [
      [noConfig, /not a Hugging Face model folder \(no config\.json\)/],
      [pickled, /pickled weights/],
      [noWeights, /no model weights/],
      ['/no/such/folder', /no model folder/],
      ['not a model id!', /no model folder/],
    ];
    for (const [model, want] of cases) {
      const problems = (await planRun({ task: 'sequence_classification', model, train: tsv }, env)).problems;
      assert.deepEqual(problems.map((p) => p.field), ['model.name_or_path'], model);
      assert.match(problems[0]?.message ?? '', want);
    }
    assert.deepEqual((await planRun({ task: 'sequence_classification', model: 'bert-base-uncased', train: tsv }, { ...env, online: async () => true })).problems, [], 'a hub id is left to the worker when online');
  });

  it('dataset ids: unknown, malformed and imported for another task are each named with the fix', async () => {
    const cases: [string | undefined, string, RegExp][] = [
      [undefined, 'nope', /no dataset "nope" in .*bert-studio dataset import/],
      [undefined, '../../etc', /is not a dataset id/],
    ];
    for (const [task, dataset, want] of cases) {
      const r = await planRun({ task, dataset }, env);
      assert.deepEqual(r.problems.map((p) => p.field), ['dataset'], dataset);
      assert.match(r.problems[0]?.message ?? '', want);
    }
    const both = await planRun({ task: 'sequence_classification', dataset: 'x', train: tsv }, env);
    assert.match(both.problems.find((p) => p.field === 'dataset')?.message ?? '', /not both/);
    const multi = await planRun({ task: 'token_classification', train: tsv, multiLabel: true }, env);
    assert.deepEqual(multi.problems.map((p) => p.field), ['data.multi_label']);
    const delim = await planRun({ task: 'sequence_classification', train: tsv, labelDelimiter: '|' }, env);
    assert.deepEqual(delim.problems, [], '--label-delimiter implies multi-label');
    assert.equal(delim.spec?.data.multi_label, true);
  });

  it('a run from a snapshot takes task, files, labels and multi-label from its manifest (read once, in core)', async function () {
    const dev = path.join(DATA, 'sst2', 'dev.tsv');
    needSetup(this, fs.existsSync(dev), `shared SST-2 at ${dev}`);
    const lines = fs.readFileSync(dev, 'utf8').split('\n').filter(Boolean);
    const train = path.join(ws, 'sst-train.tsv');
    const val = path.join(ws, 'sst-dev.tsv');
    fs.writeFileSync(train, `${lines.slice(0, 301).join('\n')}\n`);
    fs.writeFileSync(val, `${[lines[0], ...lines.slice(301, 401)].join('\n')}\n`);
    const imported = await importDataset({ task: 'sequence_classification', format: 'tsv', mapping: { text: 'sentence', label: 'label' }, files: { train, validation: val } }, env.datasetsDir, { id: 'sst' });
    assert.ok(imported.ok, imported.reason);
    const wrongTask = await planRun({ task: 'token_classification', dataset: 'sst' }, env);
    assert.match(wrongTask.problems.find((p) => p.field === 'task')?.message ?? '', /imported for sequence_classification, not token_classification/);
    const r = await createRun(store, { request: { dataset: 'sst', training: { max_steps: 3 }, maxTrainSamples: 3000 } }, env);
    assert.deepEqual(r.problems, [], 'more samples asked than there are, and eval_steps past the run, are not errors');
    assert.ok(r.run);
    const spec = r.run.spec;
    assert.equal(spec.task, 'sequence_classification');
    assert.equal(spec.dataset_id, 'sst');
    assert.equal(spec.data.train, path.join(env.datasetsDir, 'sst', 'train.jsonl'));
    assert.equal(spec.data.validation, path.join(env.datasetsDir, 'sst', 'validation.jsonl'));
    assert.deepEqual([...((spec.data.labels as string[]) ?? [])].sort(), ['0', '1']);
    assert.equal(spec.data.max_train_samples, 3000);
    // Duplicate with Changes goes through the same checks: a bad change makes no second folder.
    const dup = await createRun(store, { spec: { ...spec, training: { ...spec.training, warmup_ratio: 2 } } }, env);
    assert.deepEqual(dup.problems.map((p) => p.field), ['training.warmup_ratio']);
    assert.deepEqual(runFolders(store.runsDir), [r.run.id]);
    // A snapshot whose split file went missing since: named, and still no folder.
    fs.rmSync(path.join(env.datasetsDir, 'sst', 'validation.jsonl'));
    const gone = await createRun(store, { request: { dataset: 'sst' } }, env);
    assert.deepEqual(gone.problems.map((p) => p.field), ['data.validation']);
    assert.deepEqual(runFolders(store.runsDir), [r.run.id]);
  });

  it('validation labels that train lacks are refused before launch', async () => {
    const train = path.join(ws, 'train.jsonl');
    const val = path.join(ws, 'validation.jsonl');
    fs.writeFileSync(train, '{"text": "a", "label": "pos"}\n{"text": "b", "label": "neg"}\n');
    fs.writeFileSync(val, '{"text": "c", "label": "neutral"}\n');
    const r = await createRun(store, { request: { task: 'sequence_classification', train, validation: val } }, env);
    assert.deepEqual(r.problems.map((p) => p.field), ['data.validation']);
    assert.match(r.problems[0]?.message ?? '', /neutral/);
    assert.deepEqual(runFolders(store.runsDir), []);
  });

  it('a run folder that cannot be made is a RunFolderError naming the folder, and nothing is half-made', async () => {
    fs.writeFileSync(path.join(ws, '.bert-studio'), 'a file where the folder should be');
    await assert.rejects(
      createRun(store, { request: { task: 'sequence_classification', train: tsv } }, env),
      (err: unknown) => err instanceof RunFolderError && /cannot create \.bert-studio\/runs in .*: a file is in the way; make that folder writable/.test(err.message) && err.message.includes(ws),
    );
  });
});
