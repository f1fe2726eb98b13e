// How the CLI fails: unknown flags with the closest one suggested, --json errors as JSON on stdout,
// exit code 2 for usage, no stack trace (the log keeps it), a refused train leaves no run folder,
// a workspace where no run folder can be made is named, and `runs | head -1` exits quietly.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Writable } from 'node:stream';
import { parseArgs, textSink, UsageError } from '../../../src/cli/io';
import { main } from '../../../src/cli/main';
import { packageRoot } from '../../../src/core/paths';
import { needSetup } from '../needSetup';

const root = packageRoot(__dirname);


async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out = textSink();
  const err = textSink();
  const code = await main(args, { stdout: out, stderr: err });
  return { code, out: out.text, err: err.text };
}

const STACK = /^\s+at .+:\d+/m;

describe('CLI errors', function () {
  this.timeout(60_000);
  let ws: string;
  let tsv: string;
  let log: string;
  const savedLog = process.env.BERT_STUDIO_CLI_LOG;

  beforeEach(() => {
    ws = fs.mkdtempSync(path.join(os.tmpdir(), 'bert-studio-cli-'));
    tsv = path.join(ws, 'train.tsv');
    fs.writeFileSync(tsv, 'sentence\tlabel\na fine film\t1\na dull film\t0\n');
    log = path.join(ws, 'cli.log');
    process.env.BERT_STUDIO_CLI_LOG = log;
  });
  afterEach(() => {
    fs.rmSync(ws, { recursive: true, force: true });
    if (savedLog === undefined) delete process.env.BERT_STUDIO_CLI_LOG;
    else process.env.BERT_STUDIO_CLI_LOG = savedLog;
  });

  it('parseArgs with a known-flag list refuses unknown flags with the closest one, and value flags without a value', () => {
    assert.throws(() => parseArgs(['--epoch', '3'], [], ['epochs', 'lr']), (e: unknown) => e instanceof UsageError && /unknown option --epoch; did you mean --epochs\?/.test(e.message) && e.field === '--epoch');
    assert.throws(() => parseArgs(['--lr'], [], ['epochs', 'lr']), /--lr needs a value/);
    assert.throws(() => parseArgs(['--json=yes'], [], ['lr']), /--json takes no value/);
    const p = parseArgs(['--set', 'a=1', '--set', 'b=2', '--json', '--lr=-1e-5'], [], ['set', 'lr']);
    assert.deepEqual(p.all.get('set'), ['a=1', 'b=2']);
    assert.equal(p.flags.get('lr'), '-1e-5');
    assert.equal(p.flags.get('json'), true);
    // Without a list (a command not yet wired): the old lenient parsing.
    assert.equal(parseArgs(['--anything', 'x']).flags.get('anything'), 'x');
  });

  it('every command refuses a misspelt flag and suggests the right one (exit 2)', async () => {
    const cases: [string[], RegExp][] = [
      [['train', '--task', 'mlm', '--train', tsv, '--epoch', '3', '--workspace', ws], /--epoch; did you mean --epochs\?/],
      [['dataset', 'validate', tsv, '--formt', 'tsv'], /--formt; did you mean --format\?/],
      [['dataset', 'import', tsv, '--lables', 'a,b', '--workspace', ws], /--lables; did you mean --labels\?/],
      [['runs', 'list', '--workspce', ws], /--workspce; did you mean --workspace\?/],
      [['fill-mask', '--modle', ws, 'x [MASK]'], /--modle; did you mean --model\?/],
      [['predict', '--model', ws, '--questoin', 'who?', 'text'], /--questoin; did you mean --question\?/],
    ];
    for (const [args, want] of cases) {
      const r = await run(args);
      assert.equal(r.code, 2, args.join(' '));
      assert.match(r.err, want);
      assert.doesNotMatch(r.err, STACK);
    }
    assert.equal(fs.existsSync(path.join(ws, '.bert-studio', 'runs')), false, 'the misspelt train made no run');
  });

  it('train --epochs 0 is refused before any worker starts, and leaves no run folder', async () => {
    const r = await run(['train', '--workspace', ws, '--task', 'sequence_classification', '--train', tsv, '--epochs', '0', '--batch-size', '0']);
    assert.equal(r.code, 2);
    assert.match(r.err, /error: --epochs \(training\.num_train_epochs\): num_train_epochs must be a number over 0 .*not 0/);
    assert.match(r.err, /error: --batch-size \(training\.per_device_train_batch_size\): .*at least 1, not 0/);
    assert.equal(fs.existsSync(path.join(ws, '.bert-studio')), false);
  });

  it('train takes the freezing and layer-wise decay fields as flags of the same names, each checked and named', async () => {
    const bad = await run(['train', '--workspace', ws, '--task', 'sequence_classification', '--train', tsv, '--freeze-layers=-1', '--layerwise-lr-decay', '1.5', '--unfreeze-schedule', '0:epoch', '--freeze-embeddings']);
    assert.equal(bad.code, 2);
    assert.match(bad.err, /error: --freeze-layers \(training\.freeze_layers\): freeze_layers must be an integer at least 0/);
    assert.match(bad.err, /error: --layerwise-lr-decay \(training\.layerwise_lr_decay\): .*at most 1 .*not 1\.5/);
    assert.match(bad.err, /error: --unfreeze-schedule \(training\.unfreeze_schedule\): .*"every": N/);
    assert.doesNotMatch(bad.err, /freeze_embeddings|freeze-embeddings/, 'the switch is a valid true');
    // Sound values: only the one bad field (--epochs 0) is refused.
    const good = await run(['train', '--workspace', ws, '--task', 'sequence_classification', '--train', tsv, '--epochs', '0', '--freeze-embeddings', '--freeze-base-model', '--freeze-layers', '2', '--layerwise-lr-decay', '0.9', '--set', 'unfreeze_schedule=3:step']);
    assert.equal(good.code, 2);
    assert.deepEqual(good.err.split('\n').filter((l) => l.startsWith('error:')).map((l) => l.split(':')[1]?.trim()), ['--epochs (training.num_train_epochs)']);
    assert.equal(fs.existsSync(path.join(ws, '.bert-studio')), false);
  });

  it('--json: fatal errors are JSON objects on stdout, with the field, and nothing on stderr', async () => {
    const r = await run(['train', '--json', '--workspace', ws, '--task', 'sequence_classification', '--train', tsv, '--epochs', '0', '--set', 'warmup_ratio=5']);
    assert.equal(r.code, 2);
    assert.equal(r.err, '');
    const errors = r.out.trim().split('\n').map((l) => JSON.parse(l) as { type: string; field: string; message: string });
    assert.deepEqual(errors.map((e) => [e.type, e.field]), [['error', '--epochs (training.num_train_epochs)'], ['error', 'training.warmup_ratio']]);
    const typo = await run(['runs', '--json', '--workspce', ws]);
    assert.equal(typo.code, 2);
    assert.deepEqual(JSON.parse(typo.out), { type: 'error', field: '--workspce', message: typo.out.length ? (JSON.parse(typo.out) as { message: string }).message : '' });
    assert.match((JSON.parse(typo.out) as { message: string }).message, /did you mean --workspace\?/);
    const unknown = await run(['trian', '--json']);
    assert.equal(unknown.code, 2);
    assert.match((JSON.parse(unknown.out) as { message: string }).message, /unknown command "trian"; did you mean train\?/);
  });

  it('a workspace where no run folder can be made is named in one line, without a stack', async () => {
    fs.writeFileSync(path.join(ws, '.bert-studio'), 'a file where the folder should be');
    const r = await run(['train', '--workspace', ws, '--task', 'sequence_classification', '--train', tsv]);
    assert.equal(r.code, 1);
    assert.equal(r.err.trim().split('\n').length, 1, r.err);
    assert.match(r.err, new RegExp(`^error: cannot create \\.bert-studio/runs in ${ws.replace(/[/.]/g, '\\$&')}: a file is in the way; make that folder writable`));
  });

  it('a read-only workspace is named with "permission denied" (as a user whom permissions bind)', async function () {
    // Root ignores folder permissions (the file-in-the-way case above covers root).
    if (typeof process.getuid !== 'function' || process.getuid() === 0) this.skip();
    fs.chmodSync(ws, 0o555);
    try {
      const r = await run(['train', '--workspace', ws, '--task', 'sequence_classification', '--train', tsv]);
      assert.equal(r.code, 1);
      assert.match(r.err, /cannot create \.bert-studio\/runs in .*: permission denied/);
    } finally {
      fs.chmodSync(ws, 0o755);
    }
  });

  it('an unexpected error prints one line naming the log, which keeps the stack', async () => {
    const out = new Writable({
      write() {
        throw new TypeError('the terminal went away in a strange way');
      },
    });
    const err = textSink();
    const code = await main(['runs', 'list', '--workspace', ws], { stdout: out, stderr: err });
    assert.equal(code, 1);
    assert.match(err.text, /^error: unexpected TypeError: the terminal went away in a strange way \(details in .*cli\.log; please report it\)\n$/);
    assert.doesNotMatch(err.text, STACK);
    assert.match(fs.readFileSync(log, 'utf8'), /TypeError: the terminal went away[\s\S]*\n\s+at /);
  });

  it('train --help documents BERT_STUDIO_NUM_THREADS', async () => {
    const r = await run(['train', '--help']);
    assert.equal(r.code, 0);
    assert.match(r.out, /BERT_STUDIO_NUM_THREADS=N sets the worker's CPU threads/);
  });

  it('`bert-studio runs | head -1` exits quietly when the reader goes away (EPIPE)', function () {
    const cli = path.join(root, 'dist', 'cli.js');
    needSetup(this, fs.existsSync(cli), 'the CLI bundle (npm run build)');
    // Enough runs that the listing outgrows the pipe's buffer after head has gone.
    const runs = path.join(ws, '.bert-studio', 'runs');
    for (let i = 0; i < 1500; i++) {
      const dir = path.join(runs, `20260101-000000-run-${String(i).padStart(4, '0')}`);
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(path.join(dir, 'spec.json'), '{"version":1,"task":"mlm","model":{"name_or_path":"default"},"data":{"train":"x"},"training":{},"device":"cpu"}');
    }
    const r = spawnSync('bash', ['-c', `set -o pipefail; "${process.execPath}" "${cli}" runs --workspace "${ws}" | head -1`], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.stdout.trim().split('\n').length, 1);
    assert.doesNotMatch(r.stderr, /EPIPE|Error|\n\s+at /, r.stderr);
    assert.equal(r.status, 0, r.stderr);
  });
});
