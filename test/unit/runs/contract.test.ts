// The run-folder contract across languages: the real Python writer (trainer/.../engine/events.py)
// emits every event kind with the payloads the trainer builds, and the host's guards
// (src/core/runs/protocol.ts) accept each record and refuse mutated ones, naming the field.

import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { packageRoot } from '../../../src/core/paths';
import { venvPython } from '../../../src/core/python/interpreter';
import { workerEnv } from '../../../src/core/python/workerEnv';
import { EVENT_TYPES, RUN_EVENT, RUN_SPEC, RUN_STATUS, checkEvent, onInvalidRecord, type RunEvent } from '../../../src/core/runs/protocol';
import { readSpec, readStatus } from '../../../src/core/runs/store';
import { JsonlTail } from '../../../src/core/runs/tail';
import { processStartTime } from '../../../src/core/runs/workerProcess';
import { needSetup } from '../needSetup';

const root = packageRoot(__dirname);
const python = venvPython(path.join(root, '.venv'));

/** Drives the real EventLog through every kind; payloads from the trainer's own report functions. */
const WRITER = String.raw`
import json, sys
from pathlib import Path
import numpy as np
from bert_studio_trainer.engine.events import EVENT_TYPES, EventLog
from bert_studio_trainer.tasks.classification_metrics import classification_report, multilabel_report

run = Path(sys.argv[1])
log = EventLog(run)
log.state("starting")
log.state("running", "sequence_classification on cpu, 4 steps")
log.emit("step", step=1, max_steps=4, epoch=0.25, loss=0.69, learning_rate=5e-5, grad_norm=None,
         samples_per_second=12.5, tokens_per_second=400.0, memory_mb=None, mlm_loss=float("nan"))
labels = ["negative", "positive", "neutral"]
metrics, tables = classification_report(np.array([0, 1, 2, 1]), np.array([0, 2, 2, 1]), labels)
metrics["loss"] = float("nan")
tables["misclassified"] = [{"text": "not bad", "gold": "positive", "pred": "neutral", "source": {"file": "dev.tsv", "line": 3}},
                           {"text": "meh", "gold": "neutral", "pred": "positive", "source": None}]
log.emit("eval", step=2, metrics=metrics, **tables)
gold = np.array([[1, 0, 1], [0, 1, 0]], dtype=bool)
mmetrics, mtables = multilabel_report(gold, np.array([[1, 0, 0], [0, 1, 0]], dtype=bool), ["LOC", "PER", "ORG"])
log.emit("eval", step=3, metrics=mmetrics, **mtables)
log.emit("eval", step=4, metrics={"f1": 0.5}, per_entity={"PER": {"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2}},
         misclassified=[{"text": "EU rejects", "gold": "B-ORG O", "pred": "O O"}])
log.emit("eval", step=4, metrics={"accuracy": 0.75}, split="test", name="trec-test")
log.set_status(step=4, last_checkpoint="checkpoints/step-4")
log.emit("checkpoint", step=4, path="checkpoints/step-4")
log.log("info", "model written to best/")
log.log("warning", "ONNX export skipped")
log.emit("export", path="onnx/model.onnx", files=["onnx/model.onnx"], max_abs_diff=1e-6, attention_max_abs_diff=2e-6,
         quantized_max_abs_diff=None, cpu_max_abs_diff=1e-6, tied_weights=["decoder"])
# Freezing and layer-wise decay on a tiny BERT: the params event and per-block rates as the loop writes them.
import torch
from transformers import BertConfig, BertForSequenceClassification
from bert_studio_trainer.engine.freezing import Freezing
from bert_studio_trainer.engine.optim import build_optimizer, build_scheduler, group_learning_rates
model = BertForSequenceClassification(BertConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                                                 intermediate_size=64, vocab_size=100))
freezing = Freezing(model, {"freeze_embeddings": True, "layerwise_lr_decay": 0.8,
                            "unfreeze_schedule": {"every": 1, "unit": "step"}})
opt = build_optimizer(model, 5e-5, 0.01, torch.device("cpu"), freezing.lr_scales(), freezing.trainable_parameters())
sched = build_scheduler(opt, 0.0, 4)
freezing.apply(1, 0)
log.emit("params", **freezing.summary(1))
log.emit("step", step=2, loss=0.5, learning_rate=sched.get_last_lr()[0], group_learning_rates=group_learning_rates(opt, sched))
log.error("learning_rate must be positive", "training.learning_rate")
log.error("RuntimeError: boom")
log.state("completed", "step 4")
log.close()
print(json.dumps(list(EVENT_TYPES)))
`;

describe('run-folder contract: the Python writer and the host guards', function () {
  this.timeout(120_000);
  let dir: string;
  let lines: string[];
  let pythonKinds: string[];

  before(function () {
    needSetup(this, fs.existsSync(python), `no Python environment at ${python}: run scripts/setup.sh`);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bs-contract-'));
    const out = execFileSync(python, ['-c', WRITER, dir], { env: { ...process.env, ...workerEnv(root) }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    pythonKinds = JSON.parse(out.trim().split('\n').pop() as string) as string[];
    lines = fs.readFileSync(path.join(dir, 'events.jsonl'), 'utf8').split('\n').filter(Boolean);
  });

  it('both sides name the same event kinds', () => {
    assert.deepEqual([...pythonKinds].sort(), [...EVENT_TYPES].sort());
  });

  it('accepts every record the writer made, each kind at least once', () => {
    const events: RunEvent[] = [];
    for (const line of lines) {
      const c = checkEvent(line);
      assert.ok(c.ok, `refused ${line.slice(0, 200)}: ${c.ok ? '' : c.reason}`);
      events.push(c.value);
    }
    assert.deepEqual(new Set(events.map((e) => e.type)), new Set(EVENT_TYPES));
    // The follower sees the same events.
    assert.equal(new JsonlTail(path.join(dir, 'events.jsonl'), () => undefined).readNew().length, lines.length);
    const firstEval = events.find((e) => e.type === 'eval');
    assert.ok(firstEval && firstEval.type === 'eval');
    assert.equal('loss' in firstEval.metrics, false, 'a NaN metric (null in JSON) is left out');
    assert.ok(typeof firstEval.metrics.accuracy === 'number');
    const testEval = events.find((e) => e.type === 'eval' && e.split !== undefined);
    assert.ok(testEval && testEval.type === 'eval' && testEval.split === 'test' && testEval.name === 'trec-test', 'an evaluation on another split keeps its split and name');
    const params = events.find((e) => e.type === 'params');
    assert.ok(params && params.type === 'params');
    assert.deepEqual(params.groups?.map((g) => [g.name, g.trainable]), [['head', true], ['layer.1', true], ['layer.0', false], ['embeddings', false]]);
    assert.equal(params.unfrozen_layers, 1);
    assert.ok(params.trainable > 0 && params.trainable < params.total);
    const rates = events.find((e) => e.type === 'step' && e.group_learning_rates !== undefined);
    assert.ok(rates && rates.type === 'step' && rates.group_learning_rates);
    assert.deepEqual(Object.keys(rates.group_learning_rates), ['head', 'layer.1', 'layer.0'], 'frozen embeddings have no group');
    assert.ok(Math.abs((rates.group_learning_rates['layer.1'] as number) - 0.8 * (rates.learning_rate as number)) < 1e-15);
    const diverged = checkEvent(JSON.stringify({ type: 'step', ts: 1, step: 9, loss: null }));
    assert.ok(diverged.ok && diverged.value.type === 'step' && Number.isNaN(diverged.value.loss), 'a NaN loss (null in JSON) is kept as NaN');
  });

  it("accepts the writer's status.json, which names the worker by pid and start time", () => {
    const raw = JSON.parse(fs.readFileSync(path.join(dir, 'status.json'), 'utf8')) as Record<string, unknown>;
    assert.equal(RUN_STATUS.problem(raw), undefined);
    const status = readStatus(dir);
    assert.equal(status?.state, 'completed');
    assert.equal(status?.last_checkpoint, 'checkpoints/step-4');
    if (process.platform === 'linux') assert.ok(typeof status?.pid_start === 'number' && status.pid_start > 0);
    // The writer's process is gone; the host's own start time has the same unit and a later or equal value.
    if (typeof status?.pid_start === 'number') assert.ok((processStartTime(process.pid) as number) <= status.pid_start);
  });

  it('refuses mutated records and says which field is wrong', () => {
    const byType = new Map<string, Record<string, unknown>>();
    for (const l of lines) {
      const rec = JSON.parse(l) as Record<string, unknown>;
      if (!byType.has(rec.type as string)) byType.set(rec.type as string, rec);
    }
    const mutate = (type: string, change: (r: Record<string, unknown>) => void): Record<string, unknown> => {
      const r = structuredClone(byType.get(type)) as Record<string, unknown>;
      change(r);
      return r;
    };
    const cases: [Record<string, unknown>, RegExp][] = [
      [mutate('step', (r) => (r.type = 'progress')), /unknown type "progress"/],
      [mutate('step', (r) => delete r.ts), /ts: expected a finite number/],
      [mutate('step', (r) => (r.loss = '0.69')), /loss: expected a finite number/],
      [mutate('step', (r) => (r.step = -1)), /step: -1 is outside/],
      [mutate('step', (r) => (r.step = 1.5)), /step: expected an integer/],
      [mutate('eval', (r) => (r.metrics = [])), /metrics: expected an object/],
      [mutate('eval', (r) => ((r.metrics as Record<string, unknown>).accuracy = 'high')), /metrics\.accuracy: expected a finite number/],
      [mutate('eval', (r) => ((r.per_class as Record<string, Record<string, unknown>>).positive!.support = 'two')), /per_class\.positive\.support/],
      [mutate('eval', (r) => ((r.confusion_matrix as { matrix: unknown[] }).matrix[0] = 'row')), /confusion_matrix\.matrix\[0\]/],
      [mutate('eval', (r) => ((r.misclassified as Record<string, unknown>[])[0]!.source = { file: 'x', line: 0 })), /misclassified\[0\]\.source\.line/],
      [mutate('status', (r) => (r.state = 'paused')), /state: expected one of/],
      [mutate('checkpoint', (r) => (r.path = 3)), /path: expected a string/],
      [mutate('log', (r) => delete r.message), /message: expected a string/],
      [mutate('error', (r) => (r.message = null)), /message: expected a string/],
      [mutate('export', (r) => (r.max_abs_diff = 'tiny')), /max_abs_diff/],
      [mutate('params', (r) => (r.trainable = -1)), /trainable: -1 is outside/],
      [mutate('params', (r) => ((r.groups as Record<string, unknown>[])[0]!.trainable = 'yes')), /groups\[0\]\.trainable/],
      [mutate('params', (r) => delete r.total), /total/],
      [{ ...mutate('step', () => undefined), group_learning_rates: { head: 'fast' } }, /group_learning_rates\.head/],
    ];
    for (const [rec, want] of cases) {
      const c = checkEvent(JSON.stringify(rec));
      assert.equal(c.ok, false, `accepted ${JSON.stringify(rec).slice(0, 160)}`);
      assert.match(c.ok ? '' : c.reason, want);
      assert.equal(RUN_EVENT(rec), false);
    }
    assert.deepEqual(checkEvent('{"type": "step", "ts": 1, "step": 1,'), { ok: false, reason: 'not JSON' });

    const status = JSON.parse(fs.readFileSync(path.join(dir, 'status.json'), 'utf8')) as Record<string, unknown>;
    assert.match(RUN_STATUS.problem({ ...status, pid: '1234' }) ?? '', /pid: expected an integer/);
    assert.match(RUN_STATUS.problem({ ...status, pid_start: -5 }) ?? '', /pid_start/);
    assert.match(RUN_STATUS.problem({ ...status, state: 'hacked' }) ?? '', /state/);
  });

  it('a crafted status.json is ignored, and the reason reported once', () => {
    const run = fs.mkdtempSync(path.join(os.tmpdir(), 'bs-contract-bad-'));
    fs.writeFileSync(path.join(run, 'status.json'), JSON.stringify({ state: 'running', pid: 'self' }));
    const seen: string[] = [];
    const sub = onInvalidRecord((file, reason) => seen.push(`${path.basename(file)}: ${reason}`), { onceEach: true });
    try {
      assert.equal(readStatus(run), undefined);
      assert.equal(readStatus(run), undefined);
    } finally {
      sub.dispose();
    }
    assert.deepEqual(seen, ['status.json: pid: expected an integer, got "self"']);
  });
});

describe('spec.json as the host reads it', () => {
  it('accepts what the worker accepts and refuses a hand-edited shape the worker would refuse, naming the field', () => {
    const spec = { task: 'mlm', model: { name_or_path: 'default' }, data: { train: 'wiki.txt', validation: null }, training: { max_steps: 10 } };
    assert.equal(RUN_SPEC.problem(spec), undefined, 'version and device default as in spec.py');
    assert.match(RUN_SPEC.problem({ ...spec, training: [] }) ?? '', /^training: expected an object, got an array/);
    assert.match(RUN_SPEC.problem({ ...spec, task: 'summarize' }) ?? '', /^task: expected one of/);
    assert.match(RUN_SPEC.problem({ ...spec, data: { train: 3 } }) ?? '', /^data\.train: expected a string/);
    assert.match(RUN_SPEC.problem({ ...spec, model: {} }) ?? '', /^model\.name_or_path/);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bs-spec-'));
    fs.writeFileSync(path.join(dir, 'spec.json'), JSON.stringify({ ...spec, training: [] }));
    const seen: string[] = [];
    const sub = onInvalidRecord((_file, reason) => seen.push(reason));
    try {
      assert.equal(readSpec(dir), undefined);
    } finally {
      sub.dispose();
    }
    assert.deepEqual(seen, ['training: expected an object, got an array']);
  });
});

describe('status.json as the host reads it', () => {
  it('a diverged run (best metric NaN, written as null) keeps its status, with no best metric', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bs-status-'));
    fs.writeFileSync(path.join(dir, 'status.json'), JSON.stringify({ state: 'completed', pid: 12, pid_start: 34, step: 8, max_steps: 8, best_metric: { name: 'perplexity', value: null, step: 8 }, last_checkpoint: null, started: 1, updated: 2 }));
    const status = readStatus(dir);
    assert.equal(status?.state, 'completed');
    assert.equal(status?.best_metric, null);
  });
});
