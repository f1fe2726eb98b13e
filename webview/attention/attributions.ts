// The attention viewer's Attributions column, beside the maps: for a sequence classifier, Integrated
// Gradients of the predicted (or a chosen) label on each of the viewer's tokens (for a token
// classifier, of a chosen predicted entity's tag logits), tinted with the
// editor's colours (src/shared/attributionTints.ts, light or dark by the page's theme class, and the
// high-contrast outline), the value on hover, computed on demand by the host (a button) and
// cancellable. It names the model and the label it explains.
import { attributionQuantity, tintColour, type TintTheme } from '../../src/shared/attributionTints';
import { el } from '../shared/dom';
import type { AttributionsMessage, AttributionStateMessage, Explain, HostMessage, WebviewMessage } from './protocol';

type State = { state: 'idle' | 'running' | 'cancelled' | 'failed'; message?: string };

export interface AttributionColumn {
  readonly element: HTMLElement;
  /** A new text's maps: what the column may explain (undefined hides it). */
  show(explain: Explain | undefined): void;
  /** Takes the column's own messages (attributions, attributionState); false for others. */
  receive(m: HostMessage): m is AttributionsMessage | AttributionStateMessage;
  /** Draws the column again (a theme switch, new tokens). */
  render(): void;
}

/** The editor's tint table follows the theme: the body's class says which (VS Code sets it). */
export function pageTheme(classes: DOMTokenList): TintTheme {
  return classes.contains('vscode-light') || classes.contains('vscode-high-contrast-light') ? 'light' : 'dark';
}

/** One token's hover text: its attribution toward the label, worded as the editor's hover. */
export function attributionHover(a: Pick<AttributionsMessage, 'label' | 'model' | 'target'>, token: string, v: number | null): string {
  if (v === null) return `${token}: no attribution (a special token, or past the model's length)`;
  return `${v >= 0 ? '+' : '−'}${Math.abs(v).toFixed(4)} to ${attributionQuantity(a.label, a.target)} · "${token}" · ${a.model}`;
}

export function attributionColumn(opts: { post: (m: WebviewMessage) => void; tip: HTMLElement; tokens: () => readonly string[] }): AttributionColumn {
  const element = el('div', 'attr');
  element.setAttribute('role', 'region');
  element.setAttribute('aria-label', 'Attributions');
  let explain: Explain | undefined;
  let shown: AttributionsMessage | undefined;
  let state: State = { state: 'idle' };
  /** The label asked for; '' is the predicted one. A token classifier: the entity's index, as text. */
  let target = '';

  const button = (label: string, cls: string, click: () => void): HTMLButtonElement => {
    const b = el('button', cls, label);
    b.addEventListener('click', click);
    return b;
  };

  function render(): void {
    const tokens = opts.tokens();
    if (!explain || !tokens.length) {
      element.replaceChildren();
      element.style.display = 'none';
      return;
    }
    element.style.display = '';
    const parts: HTMLElement[] = [el('div', 'attr-head', 'Attributions')];
    if (explain.problem) {
      parts.push(el('div', 'meta attr-status', explain.problem));
      element.replaceChildren(...parts);
      return;
    }
    const entities = explain.entities;
    if (entities && !entities.length) {
      parts.push(el('div', 'meta attr-status', `${explain.model} predicts no entity in this text. In the editor, Explain the Prediction with the cursor on a word explains that word's tag.`));
      element.replaceChildren(...parts);
      return;
    }
    // A classifier: the predicted label or a chosen one; a token classifier: one of its predicted entities.
    const options: [string, string][] = entities
      ? entities.map((e, i) => [String(i), `${e.label}: ${e.text}`])
      : [['', 'the predicted label'], ...explain.labels.map((l): [string, string] => [l, `label: ${l}`])];
    const pick = el('select', 'attr-target');
    for (const [value, text] of options) {
      const o = el('option', undefined, text);
      o.value = value;
      o.selected = value === target;
      pick.append(o);
    }
    pick.setAttribute('aria-label', entities ? 'The predicted entity whose tag logits are explained' : 'The label whose probability is explained');
    pick.addEventListener('change', () => (target = pick.value));
    const running = state.state === 'running';
    pick.disabled = running;
    const controls = el('div', 'bar');
    controls.append(
      pick,
      running
        ? button('Cancel', 'attr-cancel', () => opts.post({ type: 'cancelAttribution' }))
        : button(shown ? 'Recompute' : 'Compute attributions', 'attr-run', () =>
            opts.post(entities ? { type: 'attribute', entity: Number(pick.value) } : { type: 'attribute', ...(target ? { target } : {}) }),
          ),
    );
    parts.push(controls);
    if (running) parts.push(el('div', 'meta attr-status', `Integrated Gradients on ${explain.model}…`));
    else if (state.state === 'cancelled') parts.push(el('div', 'meta attr-status', 'Cancelled.'));
    else if (state.state === 'failed') parts.push(el('div', 'err attr-status', state.message ?? 'The attributions failed.'));
    const a = shown;
    if (!a) {
      parts.push(el('div', 'meta', entities
        ? `Integrated Gradients: how much each token moves ${explain.model}'s logits of the entity's predicted tags, from its training run.`
        : `Integrated Gradients: how much each token moves ${explain.model}'s probability of the label, from its training run.`));
      element.replaceChildren(...parts);
      return;
    }
    const quantity = attributionQuantity(a.label, a.target);
    parts.push(el('div', 'attr-caption', a.target === undefined
      ? `${a.model} → ${a.label} ${(a.probability * 100).toFixed(1)}% (${a.chosen ? 'chosen label' : 'predicted'})`
      : `${a.model} → ${a.label} "${a.target}" ${(a.probability * 100).toFixed(1)}% (predicted entity)`));
    parts.push(el('div', 'meta', `green raises ${quantity}, red lowers ${a.target === undefined ? 'it' : 'them'} · ${a.steps} steps, completeness within ${(a.completenessError * 100).toFixed(1)}%${a.cached ? ' · cached' : ''}`));
    if (a.unplaced) parts.push(el('div', 'meta', `${a.unplaced} attributed tokens lie past the viewer's tokens and are not shown.`));
    if (a.truncated) parts.push(el('div', 'meta', "The text was cut to the model's length."));
    const list = el('div', 'attr-tokens');
    const theme = pageTheme(document.body.classList);
    tokens.forEach((token, i) => {
      const v = a.values[i] ?? null;
      const level = a.levels[i] ?? 0;
      const span = el('span', level > 0 ? 'pos' : level < 0 ? 'neg' : undefined, token);
      span.style.background = tintColour(level, theme);
      const hover = attributionHover(a, token, v);
      span.title = hover;
      span.dataset.value = v === null ? '' : String(v);
      span.dataset.level = String(level);
      span.addEventListener('mousemove', (e) => {
        opts.tip.textContent = hover;
        opts.tip.style.display = 'block';
        opts.tip.style.left = `${e.clientX + 12}px`;
        opts.tip.style.top = `${e.clientY + 12}px`;
      });
      span.addEventListener('mouseleave', () => (opts.tip.style.display = 'none'));
      list.append(span);
    });
    parts.push(list);
    element.replaceChildren(...parts);
  }

  return {
    element,
    render,
    show(next) {
      explain = next;
      shown = undefined;
      state = { state: 'idle' };
      if (next?.entities) target = target && Number(target) < next.entities.length ? target : '0';
      else if (target && !next?.labels.includes(target)) target = '';
      render();
    },
    receive(m): m is AttributionsMessage | AttributionStateMessage {
      if (m.type === 'attributionState') {
        state = { state: m.state, ...(m.message ? { message: m.message } : {}) };
      } else if (m.type === 'attributions') {
        // Placed on the tokens shown: an answer for another text is dropped.
        if (m.values.length !== opts.tokens().length) return true;
        shown = m;
        state = { state: 'idle' };
      } else return false;
      render();
      return true;
    },
  };
}
