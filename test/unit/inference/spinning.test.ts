import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { InferenceEngine } from '../../../src/core/inference/engine';
import {
  CpuMonitor,
  decideSpinning,
  intraOpThreads,
  osCpuSnapshot,
  parseThreadSpinning,
  SPIN_POLICY,
  THREAD_SPINNING_SETTING,
  THREAD_SPINNING_VALUES,
  type CpuSnapshot,
  type SpinState,
} from '../../../src/core/inference/spinning';
import { REPO, useFixtures } from './fixtures';

/** Counters after a window of `ms`: each core busy for the given ms of it, this process using `ownMs`. */
function after(before: CpuSnapshot, ms: number, busyMs: readonly number[], ownMs = 0): CpuSnapshot {
  return {
    at: before.at + ms,
    cores: before.cores.map((c, i) => ({ busy: c.busy + busyMs[i], idle: c.idle + ms - busyMs[i] })),
    ownMs: before.ownMs + ownMs,
  };
}

const start = (cores: number): CpuSnapshot => ({ at: 5000, cores: Array.from({ length: cores }, (_, i) => ({ busy: 1e6 + i, idle: 4e6 })), ownMs: 1200 });

describe('thread spinning policy (decideSpinning on constructed CPU counters)', () => {
  const s0 = start(2);

  it('spins on an idle machine, and names what it measured', () => {
    const d = decideSpinning(s0, after(s0, 1000, [20, 10]), 2);
    assert.equal(d.spin, true);
    assert.ok(d.othersBusy !== undefined && d.othersBusy < 0.05, String(d.othersBusy));
    assert.equal(d.reason, '0.0 of 2 cores busy with other work over 1.0 s, 2 intra-op threads: spinning');
  });

  it("does not count this process's own CPU time (its spinning threads included) as other work", () => {
    const d = decideSpinning(s0, after(s0, 1000, [950, 930], 1850), 2);
    assert.equal(d.spin, true, d.reason);
    // The same busy cores with the time spent elsewhere: other work.
    assert.equal(decideSpinning(s0, after(s0, 1000, [950, 930], 0), 2).spin, false);
  });

  it('does not spin when one core of two is busy with other work', () => {
    const d = decideSpinning(s0, after(s0, 1000, [1000, 30]), 2);
    assert.equal(d.spin, false);
    assert.match(d.reason, /^1\.0 of 2 cores busy with other work .*: not spinning$/);
  });

  it('spins with one core busy when that still leaves an idle core per thread (4 cores, 2 threads)', () => {
    const s = start(4);
    assert.equal(decideSpinning(s, after(s, 1000, [1000, 20, 20, 20]), 2).spin, true);
    assert.equal(decideSpinning(s, after(s, 1000, [1000, 1000, 600, 20]), 2).spin, false);
  });

  it('does not spin when every core is busy', () => {
    const d = decideSpinning(s0, after(s0, 1000, [1000, 1000], 150), 2);
    assert.equal(d.spin, false);
    assert.ok(d.othersBusy !== undefined && d.othersBusy > 1.8, String(d.othersBusy));
  });

  it('keeps its mode between the two thresholds (hysteresis in level)', () => {
    const between = after(s0, 1000, [550, 0]); // 0.55 cores: above onMargin, not above offMargin
    assert.ok(0.55 > SPIN_POLICY.onMargin && 0.55 <= SPIN_POLICY.offMargin);
    assert.equal(decideSpinning(s0, between, 2, { spin: true, streak: 0 }).spin, true);
    assert.equal(decideSpinning(s0, between, 2, { spin: false, streak: 0 }).spin, false);
    assert.equal(decideSpinning(s0, between, 2).spin, false); // no state yet: the stricter threshold
  });

  it('starts spinning only after onWindows idle windows in a row, and stops after one busy window (hysteresis in time)', () => {
    const idle = (s: CpuSnapshot): CpuSnapshot => after(s, 1000, [10, 10]);
    const busy = (s: CpuSnapshot): CpuSnapshot => after(s, 1000, [1000, 900]);
    const run = (windows: ((s: CpuSnapshot) => CpuSnapshot)[], state: SpinState): { spins: boolean[]; reasons: string[] } => {
      let s = s0;
      const spins: boolean[] = [];
      const reasons: string[] = [];
      for (const w of windows) {
        const next = w(s);
        const d = decideSpinning(s, next, 2, state);
        state = d.state;
        spins.push(d.spin);
        reasons.push(d.reason);
        s = next;
      }
      return { spins, reasons };
    };
    assert.equal(SPIN_POLICY.onWindows, 2);
    const on = run([idle, idle, idle], { spin: false, streak: 0 });
    assert.deepEqual(on.spins, [false, true, true]);
    assert.match(on.reasons[0], /still not spinning \(1 of 2 windows to change\)$/);
    assert.match(on.reasons[1], /spinning from now on$/);
    // A busy window between idle ones starts the count again.
    assert.deepEqual(run([idle, busy, idle, idle], { spin: false, streak: 0 }).spins, [false, false, false, true]);
    const off = run([busy, idle, idle], { spin: true, streak: 0 });
    assert.deepEqual(off.spins, [false, false, true]);
    assert.match(off.reasons[0], /no longer spinning$/);
  });

  it('keeps the previous mode when the window cannot be measured, and never spins one thread', () => {
    const spinning: SpinState = { spin: true, streak: 0 };
    const short = decideSpinning(s0, after(s0, 40, [0, 0]), 2, spinning);
    assert.equal(short.spin, true);
    assert.match(short.reason, /40 ms window is too short to measure: still spinning/);
    assert.equal(decideSpinning(s0, after(s0, 40, [0, 0]), 2).spin, false);
    const noCounters = { at: 9000, cores: [], ownMs: 0 };
    assert.equal(decideSpinning({ ...noCounters, at: 1000 }, noCounters, 2).spin, false);
    assert.match(decideSpinning({ ...noCounters, at: 1000 }, noCounters, 2).reason, /not available/);
    const back = { ...after(s0, 1000, [0, 0]), cores: s0.cores.map((c) => ({ busy: c.busy - 100, idle: c.idle })) };
    assert.match(decideSpinning(s0, back, 2, spinning).reason, /went back: still spinning/);
    const one = decideSpinning(s0, after(s0, 1000, [0, 0]), 1);
    assert.equal(one.spin, false);
    assert.match(one.reason, /one intra-op thread/);
  });

  it('reads real counters from the OS, and a thread count onnxruntime would use', () => {
    const a = osCpuSnapshot();
    const b = osCpuSnapshot();
    assert.ok(a.cores.length > 0 && b.at >= a.at && b.ownMs >= a.ownMs);
    const threads = intraOpThreads();
    assert.ok(Number.isInteger(threads) && threads >= 1 && threads <= a.cores.length, String(threads));
  });
});

describe('thread spinning setting', () => {
  it('reads auto, on and off (any case, booleans as on/off); unset is auto', () => {
    assert.deepEqual(parseThreadSpinning(undefined), { mode: 'auto' });
    for (const v of THREAD_SPINNING_VALUES) assert.deepEqual(parseThreadSpinning(v), { mode: v });
    assert.deepEqual(parseThreadSpinning(' On '), { mode: 'on' });
    assert.deepEqual(parseThreadSpinning(true), { mode: 'on' });
    assert.deepEqual(parseThreadSpinning(false), { mode: 'off' });
  });

  it('falls back to auto on any other value, naming the setting, the value and the values it takes', () => {
    for (const bad of ['yes', '', 2, { spin: true }]) {
      const { mode, problem } = parseThreadSpinning(bad);
      assert.equal(mode, 'auto');
      assert.ok(problem?.startsWith(`${THREAD_SPINNING_SETTING} is ${JSON.stringify(bad)},`), problem);
      assert.match(problem ?? '', /Set it to "auto" .*, "on" or "off"\.$/);
    }
  });

  it('is declared in package.json with the values the engine takes, auto by default', () => {
    const manifest = JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { contributes: { configuration: { properties: Record<string, { enum?: string[]; default?: unknown; enumDescriptions?: string[] }> } } };
    const setting = manifest.contributes.configuration.properties[THREAD_SPINNING_SETTING];
    assert.ok(setting, `${THREAD_SPINNING_SETTING} is not in package.json`);
    assert.deepEqual(setting.enum, [...THREAD_SPINNING_VALUES]);
    assert.equal(setting.default, 'auto');
    assert.equal(setting.enumDescriptions?.length, THREAD_SPINNING_VALUES.length);
  });
});

/** A sampler over a made-up machine of 2 cores whose other work is `busy` cores: one second per sample. */
function fakeMachine(): { sampler: () => CpuSnapshot; busy: number; samples: number } {
  const m = { busy: 0, samples: 0, sampler: (): CpuSnapshot => snapshot() };
  let s = start(2);
  const snapshot = (): CpuSnapshot => {
    m.samples++;
    s = after(s, 1000, [Math.min(1, m.busy) * 1000, Math.max(0, m.busy - 1) * 1000]);
    return s;
  };
  return m;
}

describe('inference engine thread spinning (tiny exported models)', function () {
  this.timeout(300_000);
  const fx = useFixtures();
  const folder = (): string => path.join(fx.dir, 'sequence_classification');

  /** The engine's logits for the SST-2 sentences, checked against PyTorch's. */
  async function checkLogits(engine: InferenceEngine): Promise<void> {
    const [out] = await engine.logits(folder(), fx.reference.sst2);
    fx.reference.sst2_logits.forEach((row, i) => row.forEach((v, j) => assert.ok(Math.abs(out.data[i * 2 + j] - v) < 1e-4, `sentence ${i} label ${j}`)));
  }

  it('opens the session with spinning threads under "on" and without under "off", whatever the CPU says', async () => {
    const machine = fakeMachine();
    machine.busy = 2;
    const monitor = new CpuMonitor({ sampler: machine.sampler, threads: 2, intervalMs: false });
    for (const spinning of ['on', 'off'] as const) {
      const logs: string[] = [];
      const engine = new InferenceEngine({ idleMs: 60_000, spinning, cpuMonitor: monitor, log: (m) => logs.push(m) });
      try {
        await checkLogits(engine);
        const info = await engine.info(folder());
        assert.equal(info.spinning.spinning, spinning === 'on');
        assert.equal(info.spinning.reason, `set to "${spinning}": ${spinning === 'on' ? 'spinning' : 'not spinning'}`);
        assert.deepEqual((await engine.loadTimings(folder()))?.spinning, info.spinning);
        assert.equal((await engine.loadTimings(folder()))?.cpuWindowMs, 0);
        assert.ok(logs.includes(`Thread spinning ${spinning} for ${info.graphFile}: ${info.spinning.reason}`), logs.join('\n'));
      } finally {
        await engine.dispose();
      }
    }
    assert.equal(machine.samples, 0); // "on" and "off" never sample the CPU
  });

  it('under "auto" spins when the cores are idle and not when they are busy, measuring a window at the first load', async () => {
    for (const busy of [0, 2]) {
      const machine = fakeMachine();
      machine.busy = busy;
      const logs: string[] = [];
      const engine = new InferenceEngine({ idleMs: 60_000, cpuMonitor: new CpuMonitor({ sampler: machine.sampler, threads: 2, intervalMs: false }), log: (m) => logs.push(m) });
      try {
        await checkLogits(engine);
        const info = await engine.info(folder());
        assert.equal(info.spinning.spinning, busy === 0);
        assert.equal(info.spinning.reason, `${busy.toFixed(1)} of 2 cores busy with other work over 1.0 s, 2 intra-op threads: ${busy === 0 ? 'spinning' : 'not spinning'}`);
        assert.ok(logs.includes(`Thread spinning auto for ${info.graphFile}: ${info.spinning.reason}`), logs.join('\n'));
        assert.equal(machine.samples, 2); // the load's window: at its start and before the session
      } finally {
        await engine.dispose();
      }
    }
  });

  it('under "auto" re-opens the session when the policy changes its mind, requests waiting for it and answering alike', async () => {
    const machine = fakeMachine();
    const monitor = new CpuMonitor({ sampler: machine.sampler, threads: 2, intervalMs: false });
    const logs: string[] = [];
    const engine = new InferenceEngine({ idleMs: 60_000, cpuMonitor: monitor, log: (m) => logs.push(m) });
    const spinning = async (): Promise<boolean> => (await engine.info(folder())).spinning.spinning;
    try {
      await checkLogits(engine);
      assert.equal(await spinning(), true);
      machine.busy = 1.5;
      assert.equal(monitor.tick()?.spin, false);
      assert.equal(logs.filter((l) => l.includes('re-opened')).length, 0); // a tick alone opens nothing
      // Two requests at once: the first re-opens, the second waits for the new session.
      await Promise.all([checkLogits(engine), checkLogits(engine)]);
      assert.equal(await spinning(), false);
      const reopened = logs.filter((l) => l.includes('re-opened'));
      assert.equal(reopened.length, 1, logs.join('\n'));
      assert.match(reopened[0], /model_cpu\.onnx, re-opened: 1\.5 of 2 cores busy with other work over 1\.0 s, 2 intra-op threads: no longer spinning$/);
      machine.busy = 0;
      assert.equal(monitor.tick()?.spin, false); // one idle window is not enough
      assert.equal(await spinning(), false);
      assert.equal(monitor.tick()?.spin, true);
      await checkLogits(engine);
      assert.equal(await spinning(), true);
      assert.equal(logs.filter((l) => l.includes('re-opened')).length, 2);
      // The attention graph opens in the model's current mode, and answers.
      const maps = await engine.attention(folder(), fx.reference.sst2[0]);
      assert.ok(maps.layers > 0);
    } finally {
      await engine.dispose();
    }
  });
});
