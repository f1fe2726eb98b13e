// Fill-mask panel: type a sentence with [MASK]; completions update as you type.
import { el } from '../shared/dom';
import { onHostMessage } from '../shared/messages';
import { HOST_MESSAGE, MAX_TEXT, type HostMessage, type WebviewMessage } from './protocol';

interface VsCodeApi {
  postMessage(message: WebviewMessage): void;
  getState(): unknown;
  setState(state: unknown): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

interface State { text: string; topK: number }
const vscode = acquireVsCodeApi();
const saved = vscode.getState() as Partial<State> | undefined;
const state: State = { text: typeof saved?.text === 'string' ? saved.text : '', topK: typeof saved?.topK === 'number' ? saved.topK : 8 };

const app = document.getElementById('app') ?? document.body;
const model = el('div', 'meta', 'No model yet.');
const input = el('textarea');
input.maxLength = MAX_TEXT;
input.placeholder = 'Type a sentence with [MASK] (several in a row for a whole word: 我们住的[MASK][MASK]很好)…';
input.value = state.text;
const controls = el('div', 'row');
const topK = el('input');
topK.type = 'number';
topK.min = '1';
topK.max = '50';
topK.value = String(state.topK);
const timing = el('span', 'meta');
controls.append(el('label', undefined, 'Top k'), topK, timing);
const list = el('ol');
const status = el('div', 'meta');
app.append(model, input, controls, status, list);

let nextId = 1;
let latest = 0;
let timer: ReturnType<typeof setTimeout> | undefined;

function request(): void {
  clearTimeout(timer);
  timer = setTimeout(() => {
    state.text = input.value;
    state.topK = Math.min(50, Math.max(1, Number(topK.value) || 8));
    vscode.setState(state);
    if (!state.text.includes('[MASK]') && !state.text.includes('<mask>')) {
      status.textContent = 'Add [MASK] (or <mask>: either is read as the model\'s own mask token) where a word should be predicted.';
      list.replaceChildren();
      return;
    }
    latest = nextId++;
    status.textContent = 'Predicting…';
    vscode.postMessage({ type: 'query', id: latest, text: state.text, topK: state.topK });
  }, 200);
}

function render(m: HostMessage): void {
  if (m.type === 'model') {
    model.textContent = m.name ? `Model: ${m.name}` : 'No fill-mask model: run "BERT Studio: Use Model for Inference".';
    if (!input.value && m.text) input.value = m.text;
    request();
    return;
  }
  if (m.id !== latest) return; // a stale answer to text the user has since changed
  if (m.type === 'error') {
    status.className = 'err';
    status.textContent = m.message;
    list.replaceChildren();
    return;
  }
  status.className = 'meta';
  // Consecutive masks are one word: its candidates are ranked jointly (chain rule, fillMaskWords.ts).
  status.textContent = m.masks > 1 ? `${m.masks} consecutive masks filled as one word, ranked by joint probability${m.exact ? '' : ' (approximate: the search was cut short)'}.` : '';
  timing.textContent = `${m.ms} ms`;
  list.replaceChildren(
    ...m.candidates.map((c) => {
      const li = el('li');
      const bar = el('span', 'bar');
      bar.style.width = `${Math.max(1, Math.round(c.probability * 120))}px`;
      li.append(bar, el('span', 'tok', c.text), el('span', 'meta', `  ${(c.probability * 100).toFixed(1)}%${c.pieces.length > 1 ? `  ·  ${c.pieces.join(' · ')}` : ''}`), el('div', 'seq', c.sequence));
      return li;
    }),
  );
}

input.addEventListener('input', request);
topK.addEventListener('change', request);
onHostMessage('fill-mask', HOST_MESSAGE, render);
vscode.postMessage({ type: 'ready' });
