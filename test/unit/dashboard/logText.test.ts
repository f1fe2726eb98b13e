// The dashboard's log pane: the real worker writes each of its messages to events.jsonl and, through
// its logging handler, to worker.log; the pane shows each once, without terminal escape codes.

import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { cleanLogLine, editorWording, LogPairing, workerLogMessage } from '../../../src/core/dashboard/logText';
import { RunModel } from '../../../src/core/dashboard/model';
import { packageRoot } from '../../../src/core/paths';
import { venvPython } from '../../../src/core/python/interpreter';
import { workerEnv } from '../../../src/core/python/workerEnv';
import { checkEvent, type RunEvent } from '../../../src/core/runs/protocol';
import { needSetup } from '../needSetup';

const root = packageRoot(__dirname);
const python = venvPython(path.join(root, '.venv'));

// The worker's own logging set-up (train.setup_logging) and EventLog, plus what transformers prints.
const WRITER = String.raw`
import sys
from pathlib import Path
from bert_studio_trainer.train import setup_logging
from bert_studio_trainer.engine.events import EventLog

setup_logging()
log = EventLog(Path(sys.argv[1]))
log.state("starting")
sys.stderr.write("\x1b[1mBertForSequenceClassification LOAD REPORT\x1b[0m from: model\n")
log.state("running", "sequence_classification on cpu, 4 steps")
log.log("info", "model written to best/")
log.log("warning", "ONNX export skipped")
log.state("running", "sequence_classification on cpu, 4 steps")
log.error("learning_rate must be positive", "training.learning_rate")
log.state("stopped", "stopped at step 4; resume with --resume")
log.state("failed", "boom")
log.close()
`;

describe('dashboard log text', () => {
  it('strips colour codes, OSC links and progress-bar redraws', () => {
    assert.equal(cleanLogLine('\x1b[1mBertForSequenceClassification LOAD REPORT\x1b[0m'), 'BertForSequenceClassification LOAD REPORT');
    assert.equal(cleanLogLine('\x1b[38;5;196mred\x1b[39m and \x1b]8;;http://x\x07link\x1b]8;;\x07'), 'red and link');
    assert.equal(cleanLogLine(' 10%|█         | 1/10\r 20%|██        | 2/10\r'), ' 20%|██        | 2/10');
    assert.equal(cleanLogLine('tab\tkept, bell\x07 gone'), 'tab\tkept, bell gone');
  });

  it("says Resume Run where the worker's command-line phrasing says --resume", () => {
    assert.equal(editorWording('stopped at step 40; resume with --resume'), 'stopped at step 40; resume it with Resume Run');
    assert.equal(editorWording('Free some space, then resume with --resume.'), 'Free some space, then resume it with Resume Run.');
    assert.equal(editorWording('--resume: no complete checkpoint yet; starting from the beginning'), 'Resume Run: no complete checkpoint yet; starting from the beginning');
    assert.equal(editorWording('stopped while starting; resume continues from checkpoints/step-10'), 'stopped while starting; Resume Run continues from checkpoints/step-10');
    assert.equal(editorWording('a plain message'), 'a plain message');
  });

  it('reads the message of a worker logging line, and nothing from other lines', () => {
    assert.equal(workerLogMessage('2026-11-30 05:40:00,123 WARNING ONNX export skipped'), 'ONNX export skipped');
    assert.equal(workerLogMessage('Traceback (most recent call last):'), undefined);
  });

  it('pairs twins whichever side comes first, and counts repeats', () => {
    const p = new LogPairing();
    assert.equal(p.seen('worker', 'running'), false);
    assert.equal(p.seen('event', 'running'), true, 'the event twin of a worker line shown first');
    assert.equal(p.seen('event', 'running'), false, 'a second occurrence is a new message');
    assert.equal(p.seen('event', 'running'), false);
    assert.equal(p.seen('worker', 'running'), true);
    assert.equal(p.seen('worker', 'running'), true);
    assert.equal(p.seen('worker', 'running'), false, 'only as many twins as occurrences');
    const small = new LogPairing(2);
    small.seen('event', 'a');
    small.seen('event', 'b');
    small.seen('event', 'c');
    assert.equal(small.seen('worker', 'a'), false, 'forgotten beyond the limit');
    assert.equal(small.seen('worker', 'c'), true);
  });

  it('shows each message of the real worker once, in either reading order', function () {
    needSetup(this, fs.existsSync(python), 'the trainer venv (.venv); run scripts/setup.sh');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bs-logtext-'));
    try {
      const log = fs.openSync(path.join(dir, 'worker.log'), 'w');
      execFileSync(python, ['-c', WRITER, dir], { env: { ...process.env, ...workerEnv(root) }, stdio: ['ignore', log, log] });
      fs.closeSync(log);
      const events = fs.readFileSync(path.join(dir, 'events.jsonl'), 'utf8').trim().split('\n').map((l) => {
        const c = checkEvent(l);
        assert.ok(c.ok, l);
        return c.value as RunEvent;
      });
      const workerLines = fs.readFileSync(path.join(dir, 'worker.log'), 'utf8').trim().split('\n');
      assert.ok(workerLines.length >= 8, 'the worker logged its messages to stderr too');
      for (const order of ['events first', 'worker.log first']) {
        const m = new RunModel();
        if (order === 'events first') {
          m.ingest(events);
          m.addLogLines(workerLines);
        } else {
          m.addLogLines(workerLines);
          m.ingest(events);
        }
        const texts = m.snapshot().logs.map((l) => l.text);
        const count = (needle: string): number => texts.filter((t) => t.includes(needle)).length;
        assert.equal(count('model written to best/'), 1, `${order}: ${texts.join(' | ')}`);
        assert.equal(count('ONNX export skipped'), 1, order);
        assert.equal(count('sequence_classification on cpu, 4 steps'), 2, `${order}: two "running" messages, each once`);
        assert.equal(count('learning_rate must be positive'), 1, order);
        assert.equal(count('boom'), 1, order);
        assert.equal(count('stopped at step 4; resume it with Resume Run'), 1, `${order}: in the editor's words, once`);
        assert.equal(count('--resume'), 0, order);
        assert.equal(count('BertForSequenceClassification LOAD REPORT'), 1, order);
        assert.ok(texts.every((t) => !t.includes('\x1b')), `${order}: no escape codes`);
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
