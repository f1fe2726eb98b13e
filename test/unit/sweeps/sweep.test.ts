// Hyperparameter search from the host: the search space's checks (the same fields and fixes as the
// worker's sweep_space.py, compared case by case through the real Python), the CLI's refusals that
// leave no study folder, and a real two-trial study through `bert-studio sweep` on shared SST-2
// whose best trial's run is then the model `--model STUDY` names.
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { resolveModel } from '../../../src/core/models/resolve';
import { studioLayout } from '../../../src/core/paths';
import { venvPython } from '../../../src/core/python/interpreter';
import { workerEnv } from '../../../src/core/python/workerEnv';
import { RunStore } from '../../../src/core/runs/store';
import { checkSpace, parseSpaceArg } from '../../../src/core/sweeps/space';
import { StudyStore } from '../../../src/core/sweeps/study';
import { isStudyDriverOf } from '../../../src/core/sweeps/trialProcess';
import { groupRuns, studyView, trialRuns } from '../../../src/core/sweeps/view';
import { check } from '../../../src/shared/guard';
import { STUDY_VIEW } from '../../../webview/study/protocol';
import { DATA, REPO, tmpDir } from '../datasets/helpers';
import { needSetup } from '../needSetup';
import { runCli } from '../runCli';

const python = venvPython(path.join(REPO, '.venv'));
const task = 'sequence_classification';

/** Bad spaces and the field each must be refused at, on both sides. */
const BAD_SPACES: readonly [unknown, string][] = [
  [{ lr: { low: 1e-5, high: 1e-4 } }, 'space.lr'],
  [{ learning_rate: { low: 0, high: 1e-4 } }, 'space.learning_rate.low'],
  [{ learning_rate: { low: 1e-4, high: 1e-5 } }, 'space.learning_rate'],
  [{ learning_rate: { low: 1e-5 } }, 'space.learning_rate.high'],
  [{ learning_rate: { low: 1e-5, hihg: 1e-4 } }, 'space.learning_rate.hihg'],
  [{ per_device_train_batch_size: { choices: [16, 0] } }, 'space.per_device_train_batch_size.choices[1]'],
  [{ per_device_train_batch_size: { choices: [] } }, 'space.per_device_train_batch_size.choices'],
  [{ per_device_train_batch_size: { low: 8, high: 32, step: 0.5 } }, 'space.per_device_train_batch_size.step'],
  [{ warmup_ratio: { low: 0, high: 0.2, log: true } }, 'space.warmup_ratio.low'],
  [{ warmup_ratio: { low: 0, high: 1.5 } }, 'space.warmup_ratio.high'],
  [{ layerwise_lr_decay: { low: 0, high: 1 } }, 'space.layerwise_lr_decay.low'],
  [{ layerwise_lr_decay: { low: 0.8, high: 1.2 } }, 'space.layerwise_lr_decay.high'],
  [{ freeze_layers: { low: 0, high: 4, step: 0.5 } }, 'space.freeze_layers.step'],
  [{ freeze_layers: { choices: [0, -1] } }, 'space.freeze_layers.choices[1]'],
  [{ group_by_length: { low: 0, high: 1 } }, 'space.group_by_length'],
  [{ metric_for_best_model: { choices: ['accuracy'] } }, 'space.metric_for_best_model'],
  [{ learning_rate: [1e-5, 1e-4] }, 'space.learning_rate'],
  [{}, 'space'],
  [[1, 2], 'space'],
];

describe('sweeps: search spaces', () => {
  it('each bad space is refused at the field that is wrong, with the fix', () => {
    for (const [space, field] of BAD_SPACES) {
      const problems = checkSpace(task, space);
      assert.equal(problems[0]?.field, field, JSON.stringify(space));
      assert.ok(problems[0].message.length > 30 && !/undefined|\[object/.test(problems[0].message), problems[0].message);
    }
    assert.match(checkSpace(task, { lr: { low: 1e-5, high: 1e-4 } })[0].message, /did you mean learning_rate/);
    assert.match(checkSpace(task, { learning_rate: { low: 0, high: 1e-4 } })[0].message, /over 0/);
    assert.match(checkSpace(task, { doc_stride: { choices: [64] } })[0].message, /question_answering/);
    assert.match(checkSpace(task, { num_train_epochs: { low: 1, high: 3 } }, { max_steps: 50 })[0].message, /remove max_steps/);
  });

  it('a good space passes, and the inline form reads as the JSON form', () => {
    const json = { learning_rate: { low: 1e-5, high: 1e-4, log: true }, per_device_train_batch_size: { choices: [16, 32] }, num_train_epochs: { low: 1, high: 3, step: 1 } };
    assert.deepEqual(checkSpace(task, json), []);
    // Layer-wise learning-rate decay and freeze depth, the two recipe fields, are searchable too.
    assert.deepEqual(checkSpace(task, { layerwise_lr_decay: { low: 0.7, high: 1 }, freeze_layers: { low: 0, high: 4 } }), []);
    const inline = parseSpaceArg('learning_rate=1e-5..1e-4:log, per_device_train_batch_size=16|32, num_train_epochs=1..3:step=1');
    assert.deepEqual(inline, { space: json, problems: [] });
    assert.deepEqual(parseSpaceArg(JSON.stringify(json)).space, json);
    const fixed = parseSpaceArg('learning_rate=2e-5');
    assert.equal(fixed.problems[0].field, 'space.learning_rate');
    assert.match(fixed.problems[0].message, /--set learning_rate=2e-5/);
    const broken = parseSpaceArg('{"learning_rate": {"low": 1e-5,\n "high": }}');
    assert.equal(broken.problems[0].field, '--space');
    assert.match(broken.problems[0].message, /not valid JSON.*fix the JSON/s);
  });

  it('the worker refuses the same spaces at the same fields (sweep_space.py)', function () {
    this.timeout(60_000);
    needSetup(this, fs.existsSync(python), 'the venv (scripts/setup.sh)');
    const script = [
      'import json, sys',
      'from bert_studio_trainer.spec import SpecError',
      'from bert_studio_trainer.sweep_space import parse_space',
      'out = []',
      'for space in json.load(sys.stdin):',
      '    try:',
      '        parse_space(space, "sequence_classification"); out.append(None)',
      '    except SpecError as e:',
      '        out.append(e.field)',
      'print(json.dumps(out))',
    ].join('\n');
    const out = execFileSync(python, ['-c', script], { input: JSON.stringify(BAD_SPACES.map(([s]) => s)), env: { ...process.env, ...workerEnv(REPO) }, encoding: 'utf8' });
    assert.deepEqual(JSON.parse(out), BAD_SPACES.map(([, f]) => f));
  });
});

describe('sweeps: bert-studio sweep', function () {
  this.timeout(900_000);
  let ws: string;
  const sst2 = path.join(DATA, 'sst2');

  beforeEach(() => {
    ws = tmpDir('bert-studio-sweep-');
  });
  afterEach(() => fs.rmSync(ws, { recursive: true, force: true }));

  it('refuses a bad study with the flag or field named, and leaves no study folder', async function () {
    needSetup(this, fs.existsSync(path.join(sst2, 'train.tsv')), 'the shared data');
    const base = ['sweep', '--task', task, '--train', path.join(sst2, 'train.tsv'), '--validation', path.join(sst2, 'dev.tsv'), '--workspace', ws, '--python', python];
    const cases: [string[], RegExp][] = [
      [['--trials', '4', '--space', 'lr=1e-5..1e-4'], /space\.lr.*did you mean learning_rate/],
      [['--trials', '4', '--space', 'learning_rate=0..1e-4'], /space\.learning_rate\.low/],
      [['--trials', '0', '--space', 'learning_rate=1e-5..1e-4:log'], /trials must be a whole number of at least 1.*--trials/],
      [['--trials', '4', '--space', 'learning_rate=1e-5..1e-4', '--pruner', 'medain'], /--pruner.*median/],
      [['--trials', '4', '--space', 'learning_rate=1e-5..1e-4', '--metric', 'bleu'], /--metric.*accuracy/],
      [['--trials', '4', '--space', 'learning_rate=1e-5..1e-4', '--epochs', '-1'], /--epochs.*num_train_epochs/],
    ];
    for (const [extra, want] of cases) {
      const r = await runCli([...base, ...extra]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, want);
      assert.doesNotMatch(r.stderr, /at .*\.js:\d+/);
    }
    const noValidation = await runCli(['sweep', '--task', task, '--train', path.join(sst2, 'train.tsv'), '--trials', '2', '--space', 'learning_rate=1e-5..1e-4', '--workspace', ws, '--python', python]);
    assert.match(noValidation.stderr, /needs validation data/);
    assert.ok(!fs.existsSync(studioLayout(ws).studiesDir), 'no study folder for a refused study');
    assert.ok(!fs.existsSync(studioLayout(ws).runsDir), 'no run folder either');
  });

  it('runs a real two-trial study whose trials are runs of the study and whose best trial, exported, is --model STUDY', async function () {
    needSetup(this, fs.existsSync(python) && fs.existsSync(path.join(sst2, 'train.tsv')), 'the venv and the shared data');
    process.env.BERT_STUDIO_NUM_THREADS = '1';
    const r = await runCli([
      'sweep', '--task', task, '--data', path.join(sst2, 'train.tsv'), '--validation', path.join(sst2, 'dev.tsv'), '--trials', '2',
      '--space', 'learning_rate=1e-5..3e-4:log,warmup_ratio=0..0.2', '--max-steps', '2', '--eval-steps', '2', '--max-train-samples', '32',
      '--max-eval-samples', '32', '--max-seq-length', '32', '--batch-size', '16', '--device', 'cpu', '--workspace', ws, '--python', python,
    ]);
    const studies = new StudyStore(studioLayout(ws).studiesDir);
    const [id] = studies.ids();
    assert.equal(r.code, 0, `${r.stderr}\n${id ? fs.readFileSync(path.join(studies.dir(id), 'sweep.log'), 'utf8').slice(-3000) : ''}`);
    const info = studies.get(id);
    assert.equal(info.state, 'completed');
    assert.equal(info.status?.trials.length, 2);
    assert.match(r.stderr, /trial 0 completed accuracy=/);
    assert.match(r.stdout, new RegExp(`--model ${id}`));

    // The trials are runs of this workspace, each a child of the study, with the sampled values.
    const runs = new RunStore(studioLayout(ws).runsDir);
    for (const t of info.status?.trials ?? []) {
      const run = runs.get(t.run as string);
      assert.equal(run.state, 'completed');
      assert.deepEqual(run.spec?.study, { id, trial: t.number });
      assert.equal(run.spec?.training.learning_rate, t.params.learning_rate);
      assert.equal(run.status?.best_metric?.value, t.value);
    }
    // The Runs view shows the study in place of its trials, the trials under it by number; the study
    // view gets the whole study in a message its page accepts.
    assert.deepEqual(groupRuns(runs.list(), studies.list()).map((g) => ('study' in g ? `study ${g.study.id}` : g.run.id)), [`study ${id}`]);
    assert.deepEqual(trialRuns(runs.list(), id).map((r) => r.spec?.study?.trial), [0, 1]);
    // A run made from a trial's spec (Duplicate with Changes) keeps its `study` but is no trial.
    const copy = runs.create('copy of a trial', runs.get(info.status?.trials[0].run as string).spec as NonNullable<ReturnType<RunStore['get']>['spec']>);
    assert.deepEqual(groupRuns(runs.list(), studies.list()).map((g) => ('study' in g ? `study ${g.study.id}` : g.run.id)).sort(), [copy.id, `study ${id}`].sort());
    assert.equal(trialRuns(runs.list(), id).length, 2);
    fs.rmSync(copy.dir, { recursive: true });
    const view = studyView(info);
    const checked = check(STUDY_VIEW, view);
    assert.ok(checked.ok, checked.ok ? '' : checked.reason);
    assert.deepEqual(view.logParams, ['learning_rate']);
    assert.equal(view.trials.length, 2);

    // "Use best trial": the study id resolves to its best trial's model.
    const best = info.status?.best;
    assert.ok(best?.run);
    assert.equal(best.value, Math.max(...(info.status?.trials ?? []).map((t) => t.value as number)));
    const model = await resolveModel(id, { workspace: ws });
    assert.equal(model.run, best.run);
    assert.ok(model.folder?.startsWith(runs.runDir(best.run) + path.sep) && fs.existsSync(path.join(model.folder, 'config.json')));

    // Only the best trial is exported (at the end of the study), and `predict --model STUDY` serves it.
    for (const t of info.status?.trials ?? []) assert.equal(fs.existsSync(path.join(runs.runDir(t.run as string), 'onnx', 'model.onnx')), t.run === best.run, t.run as string);
    const predicted = await runCli(['predict', '--model', id, 'a gripping , funny film', '--workspace', ws, '--json']);
    assert.equal(predicted.code, 0, predicted.stderr);
    const labels = new Set(['0', '1']);
    assert.ok(labels.has((JSON.parse(predicted.stdout.trim().split('\n')[0]) as { label: string }).label), predicted.stdout);

    const show = await runCli(['sweep', 'show', id, '--workspace', ws, '--json']);
    assert.equal((JSON.parse(show.stdout) as { state: string }).state, 'completed');
    const again = await runCli(['sweep', '--resume', id, '--workspace', ws, '--python', python]);
    assert.equal(again.code, 2);
    assert.match(again.stderr, /is complete/);

    // A trial's status names the driver's pid: the driver's command line (the study folder) counts as its worker.
    const trialDir = runs.runDir(best.run);
    assert.ok(isStudyDriverOf(trialDir, [python, '-m', 'bert_studio_trainer', 'sweep', '--study-dir', info.dir], undefined, (p) => fs.realpathSync(p)));
    assert.ok(!isStudyDriverOf(trialDir, [python, '-m', 'bert_studio_trainer', 'sweep', '--study-dir', path.join(ws, 'elsewhere')], undefined, (p) => path.resolve(p)));
  });
});
