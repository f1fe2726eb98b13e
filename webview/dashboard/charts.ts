// One uPlot chart. Canvas cannot read CSS variables, so theme colours are resolved from them when
// the chart is built (and the charts are rebuilt when the theme changes).

import uPlot from 'uplot';
import { el } from '../shared/dom';
import { axisWidth, realRange, stepLabel, stepRange, STEP_INCRS, stepTicks, tickLabels, valueRange } from './axes';
import { zoomKey } from '../shared/keys';
import { cssVar } from './dom';
import type { Line } from './seriesStore';

export interface ChartSeries {
  readonly label: string;
  readonly color: string;
  readonly width: number;
  /** 0..1; raw curves are drawn faint under their smoothed line. */
  readonly alpha?: number;
  readonly scale?: 'y' | 'y2';
  readonly points?: boolean;
  readonly dash?: number[];
  readonly line: Line;
}

export interface ChartOptions {
  readonly title: string;
  readonly height?: number;
  /** Label of the right-hand axis, when series use scale 'y2'. */
  readonly y2?: string;
  readonly onZoom: (range: [number, number] | undefined) => void;
}

/** What the axes are fitted to besides the data: the runs' length and the quantities drawn. */
export interface AxisFit {
  /** Total steps of the longest visible run, when known: the step axis ends there. */
  readonly runLength?: number;
  /** Series name of the left axis (`loss`, `eval/accuracy`…), for its real range. */
  readonly quantity?: string;
  /** Series name of the right axis. */
  readonly quantity2?: string;
}

let measureCtx: CanvasRenderingContext2D | null | undefined;
/** Text width in CSS pixels at the axes' font. */
function measure(font: string): (text: string) => number {
  measureCtx ??= document.createElement('canvas').getContext('2d');
  return (text) => {
    if (!measureCtx) return text.length * 7;
    measureCtx.font = font;
    return measureCtx.measureText(text).width;
  };
}

/** `color` at `alpha` opacity, as rgba() (canvas needs a colour it can parse without CSS). */
export function withAlpha(color: string, alpha: number): string {
  if (alpha >= 1) return color;
  const hex = /^#([0-9a-f]{3,8})$/i.exec(color.trim());
  let rgba: number[] | undefined;
  if (hex) {
    const h = hex[1] as string;
    const full = h.length <= 4 ? [...h].map((c) => c + c).join('') : h;
    rgba = [0, 2, 4, 6].map((i) => parseInt(full.slice(i, i + 2) || 'ff', 16));
    rgba[3] = (rgba[3] as number) / 255;
  } else {
    const m = /^rgba?\(([^)]+)\)$/i.exec(color.trim());
    if (m) rgba = (m[1] as string).split(/[\s,/]+/).filter(Boolean).map(Number).concat([1]).slice(0, 4);
  }
  if (!rgba || rgba.some((v) => Number.isNaN(v))) return color;
  return `rgba(${rgba[0]}, ${rgba[1]}, ${rgba[2]}, ${((rgba[3] as number) * alpha).toFixed(3)})`;
}

export class Chart {
  readonly root: HTMLElement;
  private readonly body: HTMLElement;
  private readonly empty: HTMLElement;
  private plot: uPlot | undefined;
  private shape = '';
  private fit: AxisFit = {};
  /** The axes' font (CSS shorthand), as measured for their widths. */
  private font = '';
  /** Data is on its way: an empty chart says so instead of "No data yet". */
  loading = true;
  private readonly resize: ResizeObserver;

  constructor(parent: HTMLElement, private readonly options: ChartOptions) {
    this.root = el('section', 'chart');
    this.root.append(el('h3', 'chart-title', options.title));
    this.body = el('div', 'chart-body');
    this.empty = el('div', 'chart-empty', 'Loading…');
    // One Tab stop: + and − zoom, the arrows pan, 0 or Escape show the whole run (zoomKey).
    this.body.tabIndex = 0;
    this.body.setAttribute('role', 'img');
    this.body.setAttribute('aria-label', `${options.title}. Keys: + and − zoom, left and right arrows pan, 0 shows the whole run.`);
    this.body.addEventListener('keydown', (e) => this.zoomWithKey(e));
    this.root.append(this.body, this.empty);
    parent.append(this.root);
    // The section's width is the grid column's (the canvas inside does not widen it): follow it.
    this.resize = new ResizeObserver(() => {
      if (this.plot && Math.round(this.plot.width) !== this.width()) this.plot.setSize({ width: this.width(), height: this.options.height ?? 200 });
    });
    this.resize.observe(this.root);
  }

  private width(): number {
    return Math.max(120, Math.floor(this.root.clientWidth || 300));
  }

  /** Draws the series; `zoom` fixes the x range, otherwise it follows the data. */
  update(series: readonly ChartSeries[], zoom: [number, number] | undefined, fit: AxisFit = {}): void {
    const refit = fit.runLength !== this.fit.runLength || fit.quantity !== this.fit.quantity || fit.quantity2 !== this.fit.quantity2;
    this.fit = fit;
    const visible = series.filter((s) => s.line.xs.length > 0);
    this.empty.textContent = this.loading ? 'Loading…' : 'No data yet';
    this.empty.hidden = visible.length > 0;
    this.body.hidden = visible.length === 0;
    if (visible.length === 0) {
      this.destroyPlot();
      return;
    }
    const data = uPlot.join(visible.map((s) => [s.line.xs, s.line.ys] as uPlot.AlignedData));
    const shape = JSON.stringify(visible.map((s) => [s.label, s.color, s.width, s.alpha, s.scale, s.points, s.dash]));
    if (!this.plot || shape !== this.shape) {
      this.destroyPlot();
      this.shape = shape;
      this.plot = new uPlot(this.buildOptions(visible), data, this.body);
    } else {
      this.plot.setData(data, zoom === undefined || refit);
    }
    if (zoom) this.plot.setScale('x', { min: zoom[0], max: zoom[1] });
  }

  private zoomWithKey(e: KeyboardEvent): void {
    const u = this.plot;
    const xs = u?.data[0];
    if (!u || !xs?.length) return;
    const full = stepRange(xs[xs.length - 1], this.fit.runLength);
    const next = zoomKey(e.key, [u.scales.x?.min ?? full[0], u.scales.x?.max ?? full[1]], full);
    if (next === undefined) return;
    e.preventDefault();
    this.options.onZoom(next ?? undefined);
  }

  /** Whether a plot is on screen. */
  get drawn(): boolean {
    return this.plot !== undefined;
  }

  /** Forgets the plot so the next update rebuilds it with fresh theme colours. */
  rebuild(): void {
    this.destroyPlot();
  }

  private destroyPlot(): void {
    this.plot?.destroy();
    this.plot = undefined;
    this.shape = '';
  }

  private buildOptions(series: readonly ChartSeries[]): uPlot.Options {
    const fg = cssVar('--vscode-descriptionForeground', cssVar('--vscode-foreground', '#cccccc'));
    const grid = withAlpha(cssVar('--vscode-foreground', '#cccccc'), 0.12);
    const font = `11px ${cssVar('--vscode-font-family', 'sans-serif')}`;
    this.font = font;
    const width = measure(font);
    // Only set what differs from uPlot's defaults: an explicit `side: undefined` would override them.
    const axis = (scale: string, side?: number): uPlot.Axis => ({
      scale,
      ...(side !== undefined ? { side } : {}),
      stroke: fg,
      font,
      grid: { stroke: grid, width: 1, show: side !== 1 },
      ticks: { stroke: grid, width: 1 },
      ...(scale === 'x'
        ? { size: 28, incrs: STEP_INCRS as number[], filter: (_u: uPlot, splits: number[]) => stepTicks(splits) as number[], values: (_u: uPlot, splits: (number | null)[]) => splits.map(stepLabel) }
        : { size: (_u: uPlot, values: string[] | null) => axisWidth(values, width) + (side === 1 ? 14 : 0), values: (_u: uPlot, splits: number[]) => tickLabels(splits) }),
    });
    const valueScale = (which: 'quantity' | 'quantity2'): uPlot.Scale => ({
      auto: true,
      range: (_u, min, max) => {
        const q = this.fit[which];
        return valueRange(min, max, q ? realRange(q, max) : undefined);
      },
    });
    const hasY2 = series.some((s) => s.scale === 'y2');
    return {
      width: this.width(),
      height: this.options.height ?? 200,
      legend: { show: false },
      cursor: {
        sync: { key: 'bert-studio-dashboard' },
        drag: { x: true, y: false, setScale: false },
        bind: { dblclick: () => () => null },
      },
      scales: {
        x: { time: false, range: (_u, _min, max) => stepRange(max, this.fit.runLength) },
        y: valueScale('quantity'),
        ...(hasY2 ? { y2: valueScale('quantity2') } : {}),
      },
      axes: [axis('x'), axis('y'), ...(hasY2 ? [{ ...axis('y2', 1), label: this.options.y2, labelFont: font, labelSize: 14 }] : [])],
      series: [
        { label: 'step' },
        ...series.map(
          (s): uPlot.Series => ({
            label: s.label,
            scale: s.scale ?? 'y',
            stroke: withAlpha(s.color, s.alpha ?? 1),
            width: s.width,
            ...(s.dash ? { dash: s.dash } : {}),
            spanGaps: true,
            points: { show: s.points ?? false, size: 5, fill: s.color, stroke: s.color },
          }),
        ),
      ],
      hooks: {
        setSelect: [
          (u) => {
            const { left, width } = u.select;
            if (width < 4) return;
            const x0 = u.posToVal(left, 'x');
            const x1 = u.posToVal(left + width, 'x');
            u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
            if (x1 > x0) this.options.onZoom([x0, x1]);
          },
        ],
        ready: [
          (u) => {
            u.over.addEventListener('dblclick', () => this.options.onZoom(undefined));
          },
        ],
        draw: [(u) => this.describeAxes(u)],
      },
    };
  }

  /**
   * The axes as drawn, on the section's `data-axes` (JSON: per axis its scale, range, tick labels and
   * width in CSS pixels): the canvas holds the labels as pixels only, and the end-to-end scenarios
   * read them here.
   */
  private describeAxes(u: uPlot): void {
    const axes = u.axes.map((a) => {
      const drawn = a as uPlot.Axis & { _values?: (string | null)[] | null; _size?: number };
      const scale = u.scales[a.scale ?? 'x'];
      return { scale: a.scale, min: scale?.min, max: scale?.max, ticks: (drawn._values ?? []).filter((v) => v !== null && v !== ''), size: drawn._size };
    });
    this.root.dataset.axes = JSON.stringify({ width: u.width, font: this.font, axes });
  }

  dispose(): void {
    this.resize.disconnect();
    this.destroyPlot();
    this.root.remove();
  }
}
