// The dashboard's data map (dataset cartography, Swayamdipta et al. 2020): each training example's
// confidence (y) against its variability (x) on a canvas, coloured by correctness, the easy-to-learn,
// ambiguous and hard-to-learn regions shaded and named. Dragging a rectangle or pressing a region
// button lists the examples; each opens at its source line. Loaded when the section is opened.
// Example text only ever goes in as textContent.

import { el } from '../shared/dom';
import { clear, cssVar, formatNumber } from './dom';
import { CORRECTNESS_CLASSES, correctnessClass, nearestPoint, plotArea, pointsInPixelRect, regionBounds, regionPoints, REGION_NAMES, toPixel, X_MAX, type Plot, type Region } from './mapGeometry';
import { MAP_REGIONS, ToHost, type CartographyMap, type MapPoint, type WebviewMessage } from './protocol';

/** Examples listed for a selection; the rest are counted. */
const MAX_LISTED = 200;
const HEIGHT = 320;

export class DataMapSection {
  readonly root = el('details', 'analysis data-map');
  private readonly body = el('div', 'data-map-body');
  private readonly status = el('p', 'muted data-map-status');
  private readonly canvas = el('canvas', 'data-map-canvas');
  private readonly tooltip = el('div', 'data-map-tooltip');
  private readonly legend = el('div', 'legend data-map-legend');
  private readonly buttons = el('div', 'data-map-regions');
  private readonly listHead = el('h4', 'data-map-list-head');
  private readonly list = el('ol', 'examples data-map-list');
  private runId: string | undefined;
  private map: CartographyMap | null | undefined;
  private requested: string | undefined;
  private drag: { from: [number, number]; to: [number, number] } | undefined;
  private selected: MapPoint[] = [];
  private selectionCaption = '';

  constructor(private readonly post: (m: WebviewMessage) => void) {
    this.root.id = 'data-map';
    const summary = el('summary', undefined, 'Data map (dataset cartography)');
    summary.id = 'data-map-summary';
    this.status.id = 'data-map-status';
    this.status.setAttribute('aria-live', 'polite');
    this.canvas.id = 'data-map-canvas';
    this.canvas.tabIndex = 0;
    this.canvas.setAttribute('role', 'img');
    this.tooltip.id = 'data-map-tooltip';
    this.tooltip.setAttribute('role', 'tooltip');
    this.tooltip.hidden = true;
    this.legend.id = 'data-map-legend';
    this.buttons.id = 'data-map-regions';
    this.buttons.setAttribute('role', 'group');
    this.buttons.setAttribute('aria-label', 'List the examples of a region');
    this.list.id = 'data-map-list';
    this.list.setAttribute('aria-label', 'Selected training examples');
    const plotWrap = el('div', 'data-map-plot');
    plotWrap.append(this.canvas, this.tooltip);
    this.body.append(this.status, this.buttons, plotWrap, this.legend, this.listHead, this.list);
    this.root.append(summary, this.body);
    this.root.addEventListener('toggle', () => {
      if (this.root.open) this.request();
    });
    this.bindPointer();
    new ResizeObserver(() => this.draw()).observe(plotWrap);
    // VS Code swaps the theme's variables on <html> and its class on <body>: canvas colours are resolved again.
    const redraw = new MutationObserver(() => this.draw());
    redraw.observe(document.documentElement, { attributes: true, attributeFilter: ['style', 'class'] });
    redraw.observe(document.body, { attributes: true, attributeFilter: ['class'] });
  }

  /** The primary run changed (or was shown again): the map is asked for when the section is open. */
  setRun(runId: string | undefined): void {
    if (runId === this.runId) return;
    this.runId = runId;
    this.map = undefined;
    this.requested = undefined;
    this.selected = [];
    this.render();
    if (this.root.open) this.request();
  }

  private request(): void {
    if (!this.runId || this.requested === this.runId) return;
    this.requested = this.runId;
    this.status.textContent = 'Reading the training dynamics…';
    this.post({ type: ToHost.RequestCartography, runId: this.runId });
  }

  /** The host's answer for `runId`: a map, or why there is none. */
  show(runId: string, map: CartographyMap | null, message: string | undefined): void {
    if (runId !== this.runId) return;
    this.map = map;
    this.selected = [];
    this.selectionCaption = '';
    this.render(message);
  }

  private render(message?: string): void {
    clear(this.buttons);
    clear(this.legend);
    this.listHead.textContent = '';
    clear(this.list);
    const map = this.map;
    const shown = !!map && map.points.length > 0;
    this.canvas.hidden = !shown;
    if (!map) {
      this.status.textContent = message ?? (this.runId ? 'Open this section to read the run\'s training dynamics.' : 'No run selected.');
      this.draw();
      return;
    }
    const unit = map.unit === 'sentence' ? 'sentences' : 'training examples';
    const sample = map.shown < map.examples ? ` (an even sample of ${map.shown.toLocaleString()} is drawn)` : '';
    this.status.textContent = `${map.examples.toLocaleString()} ${unit} over ${map.epochs} epoch${map.epochs === 1 ? '' : 's'}${sample}. Drag a rectangle on the map, or choose a region, to list its examples.`;
    this.canvas.setAttribute('aria-label', `Data map: confidence (y) against variability (x) of ${map.shown} ${unit}, coloured by correctness. Easy to learn ${map.regions.easy}, ambiguous ${map.regions.ambiguous}, hard to learn ${map.regions.hard}. Use the region buttons to list examples.`);
    for (const region of MAP_REGIONS) {
      const b = el('button', 'data-map-region', `${REGION_NAMES[region]} (${map.regions[region].toLocaleString()})`);
      b.type = 'button';
      b.id = `data-map-region-${region}`;
      b.setAttribute('aria-label', `List the ${REGION_NAMES[region].toLowerCase()} examples (${map.regions[region]})`);
      b.addEventListener('click', () => this.selectRegion(region));
      this.buttons.append(b);
    }
    for (const c of CORRECTNESS_CLASSES) {
      const item = el('span', 'legend-item');
      // Coloured by the stylesheet (the same theme variables as the canvas), so a theme switch recolours it.
      item.append(el('span', `swatch correctness-${c.key}`), el('span', undefined, c.label));
      this.legend.append(item);
    }
    this.legend.append(el('span', 'muted', `Regions: variability ≥ ${map.thresholds.variability} ambiguous; otherwise confidence < ${map.thresholds.confidence} hard to learn, else easy to learn.`));
    this.draw();
  }

  private selectRegion(region: Region): void {
    if (!this.map) return;
    this.selected = regionPoints(this.map.points, region);
    const order = region === 'hard' ? 'least confident first' : region === 'ambiguous' ? 'most variable first' : 'most confident first';
    this.selectionCaption = `${REGION_NAMES[region]}: ${this.selected.length.toLocaleString()} example${this.selected.length === 1 ? '' : 's'}, ${order}`;
    this.renderList();
    this.draw();
  }

  private renderList(): void {
    clear(this.list);
    this.listHead.textContent = this.selected.length > MAX_LISTED ? `${this.selectionCaption} (the first ${MAX_LISTED} listed)` : this.selectionCaption;
    for (const pt of this.selected.slice(0, MAX_LISTED)) {
      const li = el('li', pt.openable ? 'example openable map-example' : 'example map-example');
      li.dataset.example = String(pt.example);
      li.tabIndex = 0;
      li.append(
        el('span', 'example-text', pt.snippet),
        el('span', 'example-labels', this.figures(pt)),
      );
      if (pt.openable) {
        li.title = 'Open the example at its source line';
        const open = (): void => {
          if (this.runId) this.post({ type: ToHost.OpenTrainingExample, runId: this.runId, example: pt.example });
        };
        li.addEventListener('click', open);
        li.addEventListener('keydown', (e) => {
          if (e.key === 'Enter' || e.key === ' ') {
            e.preventDefault();
            open();
          }
        });
      }
      this.list.append(li);
    }
  }

  /** A point's label and figures; a sentence (token classification) has its word count instead of one gold label. */
  private figures(pt: MapPoint): string {
    const label = !pt.gold ? '' : this.map?.unit === 'sentence' ? `${pt.gold} · ` : `gold ${pt.gold} · `;
    return `${label}confidence ${formatNumber(pt.confidence, 3)} · variability ${formatNumber(pt.variability, 3)} · correctness ${formatNumber(pt.correctness, 3)}`;
  }

  private plot(): Plot {
    return plotArea(this.canvas.clientWidth || 400, HEIGHT);
  }

  private local(e: PointerEvent): [number, number] {
    const r = this.canvas.getBoundingClientRect();
    return [e.clientX - r.left, e.clientY - r.top];
  }

  private bindPointer(): void {
    this.canvas.addEventListener('pointerdown', (e) => {
      if (!this.map || e.button !== 0) return;
      const at = this.local(e);
      this.drag = { from: at, to: at };
      this.canvas.setPointerCapture(e.pointerId);
      this.tooltip.hidden = true;
    });
    this.canvas.addEventListener('pointermove', (e) => {
      const at = this.local(e);
      if (this.drag) {
        this.drag.to = at;
        this.draw();
        return;
      }
      this.hover(at);
    });
    this.canvas.addEventListener('pointerup', (e) => {
      if (!this.drag || !this.map) return;
      const { from } = this.drag;
      const to = this.local(e);
      this.drag = undefined;
      if (Math.abs(to[0] - from[0]) < 3 && Math.abs(to[1] - from[1]) < 3) {
        // A click: the point under the pointer, if any.
        const pt = nearestPoint(this.plot(), this.map.points, to[0], to[1]);
        this.selected = pt ? [pt] : [];
        this.selectionCaption = pt ? '1 example' : '';
      } else {
        this.selected = pointsInPixelRect(this.plot(), this.map.points, from, to).sort((a, b) => a.confidence - b.confidence);
        this.selectionCaption = `${this.selected.length.toLocaleString()} example${this.selected.length === 1 ? '' : 's'} in the rectangle, least confident first`;
      }
      this.renderList();
      this.draw();
    });
    // Keyboard: the region buttons list examples; Escape on the map clears the selection.
    this.canvas.addEventListener('keydown', (e) => {
      if (e.key !== 'Escape' || !this.selected.length) return;
      e.preventDefault();
      this.selected = [];
      this.selectionCaption = '';
      this.renderList();
      this.draw();
    });
    this.canvas.addEventListener('pointerleave', () => {
      if (!this.drag) this.tooltip.hidden = true;
    });
  }

  private hover(at: [number, number]): void {
    const pt = this.map ? nearestPoint(this.plot(), this.map.points, at[0], at[1]) : undefined;
    if (!pt) {
      this.tooltip.hidden = true;
      return;
    }
    clear(this.tooltip);
    this.tooltip.append(
      el('div', 'tooltip-text', pt.snippet),
      el('div', 'tooltip-labels', this.figures(pt)),
    );
    this.tooltip.hidden = false;
    const [x, y] = toPixel(this.plot(), pt.variability, pt.confidence);
    const width = this.canvas.clientWidth;
    this.tooltip.style.left = `${Math.min(Math.max(0, x + 10), Math.max(0, width - 260))}px`;
    this.tooltip.style.top = `${y + 12}px`;
  }

  private draw(): void {
    const map = this.map;
    const canvas = this.canvas;
    if (!map || !map.points.length || canvas.hidden) return;
    const cssWidth = canvas.clientWidth || 400;
    const ratio = window.devicePixelRatio || 1;
    canvas.style.height = `${HEIGHT}px`;
    if (canvas.width !== Math.round(cssWidth * ratio) || canvas.height !== Math.round(HEIGHT * ratio)) {
      canvas.width = Math.round(cssWidth * ratio);
      canvas.height = Math.round(HEIGHT * ratio);
    }
    const ctx = canvas.getContext('2d');
    if (!ctx) return;
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, cssWidth, HEIGHT);
    const p = this.plot();
    const fg = cssVar('--vscode-editor-foreground', '#cccccc');
    const muted = cssVar('--vscode-descriptionForeground', '#999999');
    const font = cssVar('--vscode-font-family', 'sans-serif');
    // Regions: shaded, their names in a corner.
    const shade: Record<Region, string> = {
      easy: cssVar('--vscode-charts-green', '#89d185'),
      ambiguous: cssVar('--vscode-charts-blue', '#3794ff'),
      hard: cssVar('--vscode-charts-red', '#f14c4c'),
    };
    const bounds = regionBounds(map.thresholds);
    ctx.font = `11px ${font}`;
    for (const region of MAP_REGIONS) {
      const [v0, v1, c0, c1] = bounds[region];
      const [x0, y1] = toPixel(p, v0, c1);
      const [x1, y0] = toPixel(p, v1, c0);
      ctx.globalAlpha = 0.08;
      ctx.fillStyle = shade[region];
      ctx.fillRect(x0, y1, x1 - x0, y0 - y1);
      ctx.globalAlpha = 0.9;
      ctx.fillStyle = muted;
      const label = REGION_NAMES[region].toLowerCase();
      const w = ctx.measureText(label).width;
      if (region === 'hard') ctx.fillText(label, x0 + 4, y0 - 5);
      else ctx.fillText(label, Math.max(x0 + 4, x1 - w - 4), y1 + 12);
    }
    ctx.globalAlpha = 1;
    // Axes, ticks and labels.
    ctx.strokeStyle = muted;
    ctx.lineWidth = 1;
    ctx.beginPath();
    ctx.moveTo(p.left, p.top);
    ctx.lineTo(p.left, p.top + p.height);
    ctx.lineTo(p.left + p.width, p.top + p.height);
    ctx.stroke();
    ctx.fillStyle = muted;
    for (let k = 0; k <= 5; k++) {
      const v = (k / 5) * X_MAX;
      const [x] = toPixel(p, v, 0);
      ctx.fillText(v.toFixed(1), x - 8, p.top + p.height + 13);
      const c = k / 5;
      const [, y] = toPixel(p, 0, c);
      ctx.fillText(c.toFixed(1), p.left - 24, y + 4);
    }
    ctx.fillStyle = fg;
    ctx.fillText('variability (std. of the gold-label probability over epochs)', p.left, p.top + p.height + 30);
    ctx.save();
    ctx.translate(12, p.top + p.height / 2);
    ctx.rotate(-Math.PI / 2);
    ctx.textAlign = 'center';
    ctx.fillText('confidence (mean gold-label probability)', 0, 0);
    ctx.restore();
    // Points, by correctness class; with a selection, the others faded and the selected drawn on top.
    const colour = Object.fromEntries(CORRECTNESS_CLASSES.map((c) => [c.key, cssVar(c.cssVar, c.fallback)]));
    const chosen = new Set(this.selected.map((pt) => pt.example));
    const dot = (pt: MapPoint, size: number): void => {
      const [x, y] = toPixel(p, pt.variability, pt.confidence);
      ctx.fillStyle = colour[correctnessClass(pt.correctness)] as string;
      ctx.fillRect(x - size / 2, y - size / 2, size, size);
    };
    ctx.globalAlpha = chosen.size ? 0.2 : map.points.length > 5000 ? 0.5 : 0.8;
    for (const pt of map.points) if (!chosen.has(pt.example)) dot(pt, 3);
    ctx.globalAlpha = 1;
    for (const pt of this.selected) dot(pt, 4);
    if (this.drag) {
      const [[ax, ay], [bx, by]] = [this.drag.from, this.drag.to];
      ctx.globalAlpha = 0.25;
      ctx.fillStyle = cssVar('--vscode-editor-selectionBackground', '#264f78');
      ctx.fillRect(Math.min(ax, bx), Math.min(ay, by), Math.abs(bx - ax), Math.abs(by - ay));
      ctx.globalAlpha = 1;
      ctx.strokeStyle = cssVar('--vscode-focusBorder', '#007fd4');
      ctx.strokeRect(Math.min(ax, bx), Math.min(ay, by), Math.abs(bx - ax), Math.abs(by - ay));
    }
  }
}
