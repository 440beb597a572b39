// The demo page: choose a model, watch it stream, then fill-mask and embeddings, and a panel for each task the
// model's head serves (classification, reranking, zero-shot, entities, question answering). Uses only the public
// API of the package (../js/index.js); every model call runs in the package's Worker, this thread draws.
//
// URL parameters (handy for links and for the browser tests):
//   ?model=tiny | <hub id> | <URL>   preselect a source and load it at once
//   &hubUrl=…  &worker=0  &cache=0  &threads=N  &simd=relaxed  &autoload=0

import { load, hasSimd, hasRelaxedSimd, autoThreads } from '../js/index.js';
import {
  renderFillMask, renderHeatmap, renderSearch, renderInfo, renderLabels, renderRanked, renderMarked, renderEntities, renderAnswers,
} from './render.js';

const $ = (sel) => document.querySelector(sel);
const params = new URLSearchParams(location.search);

/** The bundled tiny test model: the Q8_0 GGUF the package ships (random weights, 1.2 MB). */
const TINY_MODEL_URL = new URL('../models/tiny/xlmr-tiny-random.q8_0.gguf', import.meta.url).href;

const state = {
  model: null,
  loading: null, // AbortController of the load in flight
  embeddings: null, // { texts, vectors: Float32Array[] }
  lastFill: null, // raw fillMask result shown
  lastSearch: null,
  tasks: {}, // per task panel: { input, result } of the last call shown
  loadCount: 0,
  errors: [],
};

// ---------- what this browser can do ----------

// The package's own probes: the answers load() acts on.
const engine = {
  simd128: hasSimd(),
  relaxedSimd: hasRelaxedSimd(),
  isolated: globalThis.crossOriginIsolated === true,
  sharedMemory: typeof SharedArrayBuffer === 'function',
  cores: navigator.hardwareConcurrency || 1,
};

function describeEngine() {
  const yes = (b) => (b ? '✓' : '✗');
  $('#engine').textContent =
    `browser: SIMD128 ${yes(engine.simd128)} · relaxed SIMD ${yes(engine.relaxedSimd)} · ` +
    `cross-origin isolated ${yes(engine.isolated)} (threads ${engine.isolated && engine.sharedMemory ? 'possible' : 'unavailable'}) · ${engine.cores} cores`;
}

/**
 * The build the package chose, as far as it tells: `model.runtime` ({ build, simd, threads, worker }) when
 * the package provides it; otherwise what this browser supports, marked as such.
 */
function describeBuild(model) {
  const rt = model.runtime;
  if (rt && typeof rt === 'object') {
    const simd = rt.simd === 'relaxed' ? 'relaxed SIMD' : rt.simd === 'simd128' ? 'SIMD128' : String(rt.simd ?? '?');
    const threads = rt.threads > 1 ? `${rt.threads} threads` : `single-threaded${engine.threadsWhy ? ` (${engine.threadsWhy})` : ''}`;
    return `${simd}, ${threads}${rt.build ? ` (${rt.build})` : ''}`;
  }
  return `SIMD128 build (the package does not say more; this browser ${engine.relaxedSimd ? 'could run' : 'lacks'} relaxed SIMD, threads ${engine.isolated ? 'possible' : 'unavailable'})`;
}

// ---------- main-thread liveness meter ----------

const frames = { last: 0, gaps: [] };
function frameTick(t) {
  if (frames.last) {
    frames.gaps.push([t, t - frames.last]);
    while (frames.gaps.length && t - frames.gaps[0][0] > 2000) frames.gaps.shift();
  }
  frames.last = t;
  requestAnimationFrame(frameTick);
}
setInterval(() => {
  if (!frames.gaps.length) return;
  const worst = Math.max(...frames.gaps.map((g) => g[1]));
  $('#frame-meter').textContent = `longest frame gap ${worst.toFixed(0)} ms over the last 2 s`;
}, 500);

// ---------- progress ----------

const MB = 1e6;
const fmtMB = (b) => (b / MB).toFixed(b < 10 * MB ? 2 : 1);

/** Per-file speed over a sliding second; the bar follows the file being read (the weights dominate). */
class ProgressView {
  constructor() {
    this.file = null;
    this.samples = [];
    this.pending = null;
    this.started = performance.now();
    this.bytes = 0;
    this.lastEv = null;
    this.stopped = false;
  }

  /** No more drawing: a frame queued by a late progress event must not overwrite the final text ("cancelled", "ready in …"). */
  stop() {
    this.stopped = true;
    if (this.pending) cancelAnimationFrame(this.pending);
    this.pending = null;
  }

  update(ev) {
    if (this.stopped) return;
    const now = performance.now();
    const key = `${ev.phase}:${ev.file ?? ''}`;
    if (key !== this.file) { this.file = key; this.samples = []; }
    this.samples.push([now, ev.loaded]);
    while (this.samples.length > 2 && now - this.samples[0][0] > 1000) this.samples.shift();
    this.lastEv = ev;
    if (!this.pending) this.pending = requestAnimationFrame(() => { this.pending = null; this.draw(); });
  }

  rate() {
    const s = this.samples;
    if (s.length < 2) return 0;
    const dt = (s[s.length - 1][0] - s[0][0]) / 1000;
    return dt > 0 ? (s[s.length - 1][1] - s[0][1]) / dt : 0;
  }

  draw() {
    const ev = this.lastEv;
    if (!ev) return;
    const bar = $('#progress');
    const file = ev.file ? String(ev.file).split(/[\\/]/).filter(Boolean).pop() : '';
    const what = file ? `${ev.phase} ${file}` : ev.phase;
    if (ev.phase === 'ready') {
      bar.max = 1; bar.value = 1;
      return;
    }
    if (ev.total > 0) {
      bar.max = ev.total; bar.value = Math.min(ev.loaded, ev.total);
      $('#progress-text').textContent = `${what}: ${fmtMB(ev.loaded)} / ${fmtMB(ev.total)} MB · ${fmtMB(this.rate())} MB/s`;
    } else {
      bar.removeAttribute('value'); // indeterminate
      $('#progress-text').textContent = `${what}: ${fmtMB(ev.loaded)} MB · ${fmtMB(this.rate())} MB/s`;
    }
  }
}

// ---------- loading ----------

function chosenSource() {
  const f = $('#model-form');
  const kind = f.elements.kind.value;
  if (kind === 'tiny') return { source: TINY_MODEL_URL, label: 'bundled tiny test model', options: {} };
  if (kind === 'hub') {
    const id = f.elements.hubId.value.trim();
    const hubUrl = f.elements.hubUrl.value.trim();
    return { source: id, label: id, options: hubUrl ? { hubUrl } : {} };
  }
  const url = new URL(f.elements.url.value.trim(), location.href).href;
  return { source: url, label: url, options: {} };
}

const TASK_PANELS = ['#classify-panel', '#rerank-panel', '#zeroshot-panel', '#ner-panel', '#qa-panel'];

function setPanelsEnabled(on) {
  for (const id of ['#fill-panel', '#embed-panel', ...TASK_PANELS]) {
    const p = $(id);
    p.setAttribute('aria-disabled', String(!on));
    for (const c of p.querySelectorAll('textarea, input, button')) c.disabled = !on;
  }
}

/**
 * The panels this model serves, from its head (model.config.head): fill-mask for a masked LM; classify for a
 * sequence classifier, plus rerank when it has one output (a cross-encoder) and zero-shot when a label is
 * entail*; entities for a token classifier; answers for a QA model. Embeddings always (every model has the encoder).
 */
export function panelsFor(cfg) {
  const head = cfg.head ?? (cfg.hasMlmHead ? 'fill-mask' : null);
  const labels = cfg.labels ?? [];
  const classifier = head === 'text-classification';
  return {
    '#fill-panel': head === 'fill-mask',
    '#classify-panel': classifier,
    '#rerank-panel': classifier && cfg.numLabels === 1,
    '#zeroshot-panel': classifier && labels.some((l) => /^entail/i.test(l)),
    '#ner-panel': head === 'token-classification',
    '#qa-panel': head === 'question-answering',
    '#embed-panel': true,
  };
}

function showPanels(cfg) {
  let n = 1;
  for (const [id, on] of Object.entries(panelsFor(cfg))) {
    const p = $(id);
    p.hidden = !on;
    if (on) p.querySelector('.num').textContent = `${++n} · `;
  }
  document.body.dataset.head = cfg.head ?? 'none';
}

function errorText(e) {
  return e?.code ? `${e.code}: ${e.message}` : String(e?.message ?? e);
}

async function loadModel() {
  const { source, label, options } = chosenSource();
  state.loading?.abort();
  const ac = new AbortController();
  state.loading = ac;
  setPanelsEnabled(false);
  $('#load-btn').disabled = true;
  $('#cancel-btn').disabled = false;
  document.body.dataset.state = 'loading';
  if (state.model) {
    const old = state.model;
    state.model = null;
    state.embeddings = null;
    await old.dispose();
  }
  const view = new ProgressView();
  $('#progress').value = 0;
  $('#progress-text').textContent = `loading ${label}…`;
  renderInfo($('#model-info'), []);
  const opts = { ...options, signal: ac.signal, onProgress: (ev) => view.update(ev) };
  if (params.get('worker') === '0') opts.worker = false;
  if (params.get('simd') === 'relaxed') opts.simd = 'relaxed'; // the relaxed-SIMD build where this browser has it
  if (params.get('cache') === '0' || !$('#model-form').elements.cache.checked) opts.cache = false;
  opts.threads = Number($('#model-form').elements.threads.value) || 1; // the page's choice, 'auto' preselected
  const t0 = performance.now();
  try {
    const model = await load(source, opts);
    view.stop();
    if (state.loading !== ac) { await model.dispose(); return; }
    const ms = performance.now() - t0;
    state.model = model;
    state.loadCount++;
    view.draw();
    $('#progress').max = 1; $('#progress').value = 1;
    const cfg = model.config;
    const li = model.loadInfo ?? {};
    $('#progress-text').textContent = `${label} ready in ${(ms / 1000).toFixed(2)} s` +
      `${li.source === 'cache' ? ' (from cache)' : ''}`;
    renderInfo($('#model-info'), [
      ['wasm build', describeBuild(model)],
      ['runs in', model.mode === 'worker' ? 'a Web Worker' : model.mode === 'in-thread' ? 'this thread (worker: false)' : String(model.mode ?? '?')],
      ['layers × hidden', `${cfg.numLayers} × ${cfg.hiddenSize} (${cfg.numHeads} heads)`],
      ['vocabulary', String(cfg.vocabSize)],
      ['max tokens', String(cfg.maxTokens ?? cfg.maxPositions ?? '?')],
      ...(li.format ? [['format', `${li.format}${li.converted ? ' → converted while streaming' : ''}`]] : []),
      ...(cfg.weightType ? [['weights', `${cfg.weightType}${cfg.weightsBytes ? `, ${fmtMB(cfg.weightsBytes)} MB in wasm memory` : ''}`]] : []),
      ['head', headText(cfg)],
    ]);
    showPanels(cfg);
    document.body.dataset.state = 'ready';
    setPanelsEnabled(true);
    const shown = panelsFor(cfg);
    if (shown['#fill-panel']) scheduleFill(0);
    runEmbeddings();
    for (const [id, run] of Object.entries(TASK_RUNS)) if (shown[id]) run();
  } catch (e) {
    view.stop();
    if (state.loading !== ac) return;
    document.body.dataset.state = 'error';
    state.errors.push(errorText(e));
    $('#progress-text').textContent = e?.code === 'ERR_ABORTED' ? 'cancelled' : `failed: ${errorText(e)}`;
  } finally {
    if (state.loading === ac) {
      state.loading = null;
      $('#load-btn').disabled = false;
      $('#cancel-btn').disabled = true;
    }
  }
}

function headText(cfg) {
  const head = cfg.head ?? (cfg.hasMlmHead ? 'fill-mask' : null);
  if (!head) return 'none (embeddings only)';
  if (head === 'fill-mask' || head === 'question-answering') return head;
  const labels = cfg.labels ?? [];
  return `${head}, ${cfg.numLabels} label${cfg.numLabels === 1 ? '' : 's'}${labels.length ? `: ${labels.join(', ')}` : ''}`;
}

// ---------- task panels: one call in flight per panel, a click while busy runs once more after it ----------

/** Wraps a panel's call: status text, errors shown in the panel, the last { input, result } in state.tasks. */
function taskRunner(name, compute) {
  const t = { busy: false, again: false, runs: 0 };
  const status = () => $(`#${name}-status`);
  const run = async () => {
    if (!state.model) return;
    if (t.busy) { t.again = true; return; }
    t.busy = true;
    status().textContent = 'computing…';
    const t0 = performance.now();
    try {
      const { input, result, note } = await compute(state.model);
      state.tasks[name] = { input, result };
      status().textContent = `${note ? `${note} · ` : ''}${(performance.now() - t0).toFixed(0)} ms`;
      status().classList.remove('error');
    } catch (e) {
      if (!state.model) return;
      status().textContent = errorText(e);
      status().classList.add('error');
      state.tasks[name] = { error: e?.code ?? String(e) };
    } finally {
      t.busy = false;
      t.runs++;
      document.body.dataset[`${name}Runs`] = String(t.runs);
      if (t.again) { t.again = false; run(); }
    }
  };
  return run;
}

const lines = (sel) => $(sel).value.split('\n').map((s) => s.trim()).filter(Boolean);

const runClassify = taskRunner('classify', async (model) => {
  const text = $('#classify-text').value;
  const pair = $('#classify-pair').value.trim();
  const input = pair ? { text, textPair: pair } : text;
  const result = await model.classify(input, { topK: null, truncation: true });
  renderLabels($('#classify-results'), result);
  return { input, result };
});

const runRerank = taskRunner('rerank', async (model) => {
  const query = $('#rerank-query').value.trim();
  const documents = lines('#rerank-docs').slice(0, 64);
  const result = documents.length ? await model.rerank(query, documents, { returnDocuments: true, truncation: true }) : [];
  renderRanked($('#rerank-results'), result);
  return { input: { query, documents }, result, note: `${documents.length} documents` };
});

const runZeroShot = taskRunner('zeroshot', async (model) => {
  const text = $('#zeroshot-text').value;
  const candidateLabels = $('#zeroshot-labels').value.split(',').map((l) => l.trim()).filter(Boolean);
  const options = { hypothesisTemplate: $('#zeroshot-template').value, multiLabel: $('#zeroshot-multi').checked };
  const result = await model.zeroShot(text, candidateLabels, options);
  renderLabels($('#zeroshot-results'), result.labels.map((label, i) => ({ label, score: result.scores[i] })));
  return { input: { text, candidateLabels, options }, result };
});

const runNer = taskRunner('ner', async (model) => {
  const text = $('#ner-text').value;
  const aggregationStrategy = $('#ner-aggregation').value;
  const result = await model.tokenClassify(text, { aggregationStrategy, ...(aggregationStrategy === 'none' ? {} : { stride: 128 }) });
  renderMarked($('#ner-marked'), text, result.map((e) => {
    const label = e.entity_group ?? e.entity;
    return { start: e.start, end: e.end, label, title: `${label} ${e.score.toFixed(3)}` };
  }));
  renderEntities($('#ner-list'), result);
  return { input: { text, aggregationStrategy }, result, note: `${result.length} entities` };
});

const runQa = taskRunner('qa', async (model) => {
  const question = $('#qa-question').value.trim();
  const context = $('#qa-context').value;
  const topK = Math.max(1, Math.min(10, Number($('#qa-topk').value) || 1));
  const r = await model.answer({ question, context }, { topK });
  const result = Array.isArray(r) ? r : [r];
  // the best answer marked in its context; the others listed
  renderMarked($('#qa-marked'), context, result.slice(0, 1).map((a) => ({ start: a.start, end: a.end, label: 'answer', title: `score ${a.score.toFixed(4)}` })));
  renderAnswers($('#qa-list'), result);
  return { input: { question, context, topK }, result: r };
});

const TASK_RUNS = { '#classify-panel': runClassify, '#rerank-panel': runRerank, '#zeroshot-panel': runZeroShot, '#ner-panel': runNer, '#qa-panel': runQa };

// ---------- fill-mask: debounced, one call in flight, the newest text wins ----------

const fill = { timer: 0, busy: false, again: false, runs: 0 };

function scheduleFill(delay = 200) {
  clearTimeout(fill.timer);
  fill.timer = setTimeout(runFill, delay);
}

async function runFill() {
  if (!state.model) return;
  if (fill.busy) { fill.again = true; return; }
  fill.busy = true;
  const text = $('#fill-text').value;
  const topK = Math.max(1, Math.min(50, Number($('#fill-topk').value) || 5));
  const status = $('#fill-status');
  status.textContent = 'computing…';
  const t0 = performance.now();
  try {
    const r = await state.model.fillMask(text, { topK, truncation: true });
    const lists = Array.isArray(r[0]) ? r : [r];
    state.lastFill = { text, topK, result: r };
    renderFillMask($('#fill-results'), lists);
    status.textContent = `${lists.length} mask${lists.length > 1 ? 's' : ''} · ${(performance.now() - t0).toFixed(0)} ms`;
    status.classList.remove('error');
  } catch (e) {
    if (!state.model) return;
    status.textContent = e?.code === 'ERR_NO_MASK' ? 'type <mask> where a word should be predicted' : errorText(e);
    status.classList.add('error');
    if (e?.code === 'ERR_NO_MASK') $('#fill-results').replaceChildren();
  } finally {
    fill.busy = false;
    fill.runs++;
    document.body.dataset.fillRuns = String(fill.runs);
    if (fill.again) { fill.again = false; runFill(); }
  }
}

// ---------- embeddings: heat map and search ----------

function sentences() {
  return $('#embed-text').value.split('\n').map((s) => s.trim()).filter(Boolean).slice(0, 32);
}

function dot(a, b) {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

const emb = { busy: false, again: false, runs: 0, timer: 0 };

async function runEmbeddings() {
  if (!state.model) return;
  if (emb.busy) { emb.again = true; return; }
  emb.busy = true;
  const texts = sentences();
  const status = $('#embed-status');
  status.textContent = 'embedding…';
  const t0 = performance.now();
  try {
    const vectors = texts.length ? await state.model.embed(texts, { pooling: 'mean', normalize: true, truncation: true }) : [];
    state.embeddings = { texts, vectors };
    const n = texts.length;
    const sim = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) sim[i * n + j] = dot(vectors[i], vectors[j]);
    renderHeatmap($('#heatmap'), texts, sim);
    status.textContent = `${n} sentences · ${(performance.now() - t0).toFixed(0)} ms`;
    status.classList.remove('error');
    await runSearch();
  } catch (e) {
    status.textContent = errorText(e);
    status.classList.add('error');
  } finally {
    emb.busy = false;
    emb.runs++;
    document.body.dataset.embedRuns = String(emb.runs);
    if (emb.again) { emb.again = false; runEmbeddings(); }
  }
}

async function runSearch() {
  if (!state.model || !state.embeddings) return;
  const q = $('#search-text').value.trim();
  if (!q) { $('#search-results').replaceChildren(); return; }
  try {
    const qv = await state.model.embed(q, { pooling: 'mean', normalize: true, truncation: true });
    const { texts, vectors } = state.embeddings;
    const hits = texts.map((text, i) => ({ i, text, score: dot(qv, vectors[i]) })).sort((a, b) => b.score - a.score);
    state.lastSearch = { query: q, hits };
    renderSearch($('#search-results'), hits);
  } catch (e) {
    $('#embed-status').textContent = errorText(e);
  }
}

// ---------- threads: offered when the page is cross-origin isolated and the threaded build is served ----------

const MT_BUILD_URL = new URL('../dist/xlmr-mt.wasm', import.meta.url).href;

async function setupThreads() {
  const sel = $('#model-form').elements.threads;
  const label = $('#threads-label');
  const max = Math.max(1, Math.min(engine.cores, 8));
  sel.replaceChildren(...Array.from({ length: max }, (_, i) => new Option(String(i + 1), String(i + 1))));
  let why = '';
  if (!(engine.isolated && engine.sharedMemory)) why = 'threads need a cross-origin isolated page (COOP + COEP)';
  else {
    try {
      const r = await fetch(MT_BUILD_URL, { method: 'HEAD' });
      if (!r.ok) why = `the threaded build is not served (${MT_BUILD_URL}: HTTP ${r.status}; run make mt)`;
    } catch (e) {
      why = `the threaded build could not be checked: ${e.message}`;
    }
  }
  engine.threadsAvailable = !why;
  engine.threadsWhy = why;
  sel.disabled = !!why;
  label.title = why || 'worker threads sharing one wasm memory';
  const wanted = Number(params.get('threads'));
  sel.value = String(why ? 1 : Math.min(max, wanted >= 1 ? wanted : autoThreads(engine.cores))); /* as threads: 'auto' */
}

// ---------- wiring ----------

async function init() {
  describeEngine();
  requestAnimationFrame(frameTick);
  setPanelsEnabled(false);
  const f = $('#model-form');
  f.addEventListener('submit', (ev) => { ev.preventDefault(); loadModel(); });
  $('#cancel-btn').addEventListener('click', () => state.loading?.abort());
  // Typing in a source field picks that source.
  for (const [name, kind] of [['hubId', 'hub'], ['hubUrl', 'hub'], ['url', 'url']]) {
    f.elements[name].addEventListener('input', () => { f.elements.kind.value = kind; });
  }
  $('#fill-text').addEventListener('input', () => scheduleFill());
  $('#fill-topk').addEventListener('input', () => scheduleFill());
  $('#embed-btn').addEventListener('click', () => runEmbeddings());
  $('#embed-text').addEventListener('input', () => { clearTimeout(emb.timer); emb.timer = setTimeout(runEmbeddings, 600); });
  $('#search-btn').addEventListener('click', () => runSearch());
  $('#search-text').addEventListener('keydown', (ev) => { if (ev.key === 'Enter') runSearch(); });
  for (const [btn, run, enter] of [['#classify-btn', runClassify, '#classify-pair'], ['#rerank-btn', runRerank, '#rerank-query'],
    ['#zeroshot-btn', runZeroShot, '#zeroshot-labels'], ['#ner-btn', runNer, null], ['#qa-btn', runQa, '#qa-question']]) {
    $(btn).addEventListener('click', () => run());
    if (enter) $(enter).addEventListener('keydown', (ev) => { if (ev.key === 'Enter') run(); });
  }
  $('#ner-aggregation').addEventListener('change', () => runNer());

  await setupThreads();
  const m = params.get('model');
  if (params.get('hubUrl')) f.elements.hubUrl.value = params.get('hubUrl');
  if (m) {
    if (m === 'tiny') f.elements.kind.value = 'tiny';
    else if (/^(https?:|\/|\.)/.test(m)) { f.elements.kind.value = 'url'; f.elements.url.value = m; }
    else { f.elements.kind.value = 'hub'; f.elements.hubId.value = m; }
    if (params.get('autoload') !== '0') loadModel();
  }
}

// For tests and the console: the live model and the last results (read-only use).
globalThis.xlmrDemo = {
  state,
  engine,
  get model() { return state.model; },
  loadModel,
  runFill,
  runEmbeddings,
  runSearch,
  runClassify,
  runRerank,
  runZeroShot,
  runNer,
  runQa,
};

init();
