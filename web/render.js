// Drawing only: bar charts, the similarity heat map, search results. Pure DOM, no model code.

const pct = (x) => `${(100 * x).toFixed(x >= 0.1 ? 1 : x >= 0.001 ? 2 : 3)}%`;

function el(tag, props = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === 'style') Object.assign(e.style, v);
    else if (k === 'dataset') Object.assign(e.dataset, v);
    else if (k in e) e[k] = v;
    else e.setAttribute(k, v);
  }
  for (const c of children) if (c != null) e.append(c);
  return e;
}

/** Visible form of a token: leading space shown as ␣ so "▁x" and "x" differ on screen. */
function tokenLabel(s) {
  if (s === '') return '∅';
  return s.replace(/^ /, '␣');
}

/**
 * One ranked bar chart per mask. `lists`: [[{ score, token, token_str, sequence }, …], …].
 * Bars are scaled to the top score of their mask (a random-weight model spreads probability thinly);
 * the printed number is the probability itself.
 */
export function renderFillMask(root, lists) {
  const frag = document.createDocumentFragment();
  lists.forEach((list, m) => {
    const top = list[0]?.score || 1;
    const chart = el('div', { className: 'chart', dataset: { mask: String(m) } },
      lists.length > 1 ? el('div', { className: 'chart-title small' }, `mask ${m + 1} of ${lists.length}`) : null);
    list.forEach((c, r) => {
      const row = el('div', { className: 'bar-row', title: c.sequence, dataset: { token: String(c.token), score: String(c.score) } },
        el('span', { className: 'rank mono' }, String(r + 1)),
        el('span', { className: 'tok' }, tokenLabel(c.token_str)),
        el('span', { className: 'bar-track' }, el('span', { className: 'bar', style: { width: `${Math.max(0.5, (100 * c.score) / top)}%` } })),
        el('span', { className: 'score mono' }, pct(c.score)));
      chart.append(row);
    });
    if (list[0]) chart.append(el('div', { className: 'sequence small' }, '→ ', el('q', {}, list[0].sequence)));
    frag.append(chart);
  });
  root.replaceChildren(frag);
}

/** Colour for t in [0, 1]: pale to deep blue-violet. */
function heat(t) {
  const c = Math.max(0, Math.min(1, t));
  const l = 96 - 62 * c;
  return `hsl(${230 - 20 * c} 70% ${l}%)`;
}

function shorten(s, n) {
  return s.length > n ? `${s.slice(0, n - 1)}…` : s;
}

/**
 * Cosine-similarity heat map of `texts` from the matrix `sim` (n×n, row-major Float64Array).
 * Colours span the off-diagonal range (printed under the map), so structure shows even when every
 * pair is similar, which is typical of mean-pooled encoders.
 */
export function renderHeatmap(root, texts, sim) {
  const n = texts.length;
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
    if (i === j) continue;
    lo = Math.min(lo, sim[i * n + j]);
    hi = Math.max(hi, sim[i * n + j]);
  }
  if (!(hi > lo)) { lo = Math.min(lo, 0); hi = Math.max(hi, 1); }
  const table = el('table', { className: 'heat' });
  const head = el('tr', {}, el('th', {}));
  for (let j = 0; j < n; j++) head.append(el('th', { className: 'col mono', title: texts[j] }, String(j + 1)));
  table.append(el('thead', {}, head));
  const body = el('tbody');
  for (let i = 0; i < n; i++) {
    const tr = el('tr', {}, el('th', { className: 'rowlabel', title: texts[i] }, el('span', { className: 'mono' }, `${i + 1} `), el('span', { className: 'txt' }, shorten(texts[i], 28))));
    for (let j = 0; j < n; j++) {
      const v = sim[i * n + j];
      const t = i === j ? 1 : (v - lo) / (hi - lo);
      tr.append(el('td', {
        className: 'cell mono',
        title: `${texts[i]}\n${texts[j]}\ncosine ${v.toFixed(4)}`,
        style: { background: heat(t), color: t > 0.55 ? '#fff' : '#222' },
        dataset: { i: String(i), j: String(j), v: String(v) },
      }, v.toFixed(2)));
    }
    body.append(tr);
  }
  table.append(body);
  const legend = el('div', { className: 'legend small mono' },
    el('span', {}, lo.toFixed(3)), el('span', { className: 'ramp' }), el('span', {}, hi.toFixed(3)),
    el('span', { className: 'hint' }, ' (off-diagonal range)'));
  root.replaceChildren(table, legend);
}

/** Ranked search hits: [{ i, text, score }] best first. */
export function renderSearch(root, hits) {
  const top = Math.max(1e-9, ...hits.map((h) => Math.abs(h.score)));
  root.replaceChildren(...hits.map((h) => el('li', { className: 'hit', dataset: { i: String(h.i), score: String(h.score) } },
    el('span', { className: 'score mono' }, h.score.toFixed(3)),
    el('span', { className: 'bar-track' }, el('span', { className: 'bar', style: { width: `${Math.max(0.5, (100 * Math.max(0, h.score)) / top)}%` } })),
    el('span', { className: 'hit-text' }, h.text))));
}

export function renderInfo(root, pairs) {
  root.replaceChildren(...pairs.flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, v)]));
}

/** Scores as a bar chart: [{ label, score }] in the order given (best first); bars scaled to the top score. */
export function renderLabels(root, items) {
  const top = Math.max(1e-9, ...items.map((x) => Math.abs(x.score)));
  root.replaceChildren(...items.map((x, r) => el('div', { className: 'bar-row', dataset: { label: x.label, score: String(x.score) } },
    el('span', { className: 'rank mono' }, String(r + 1)),
    el('span', { className: 'tok' }, x.label),
    el('span', { className: 'bar-track' }, el('span', { className: 'bar', style: { width: `${Math.max(0.5, (100 * Math.max(0, x.score)) / top)}%` } })),
    el('span', { className: 'score mono' }, x.score >= 0 && x.score <= 1 ? pct(x.score) : x.score.toFixed(3)))));
}

/** Reranked documents: [{ index, score, document }] best first. */
export function renderRanked(root, ranked) {
  root.replaceChildren(...ranked.map((r) => el('li', { className: 'hit', dataset: { index: String(r.index), score: String(r.score) } },
    el('span', { className: 'score mono' }, r.score.toFixed(3)),
    el('span', { className: 'bar-track' }, el('span', { className: 'bar', style: { width: `${Math.max(0.5, 100 * Math.max(0, Math.min(1, r.score)))}%` } })),
    el('span', { className: 'hit-text', title: r.document }, el('span', { className: 'mono hint' }, `#${r.index + 1} `), r.document))));
}

/** A stable hue per label (the part after B- / I-, so both halves of an entity share it). */
function labelHue(label) {
  const base = String(label).replace(/^[BIES]-/, '');
  let h = 0;
  for (const c of base) h = (h * 31 + c.codePointAt(0)) % 360;
  return h;
}

/**
 * `text` with the spans marked: spans [{ start, end, label, title }] (UTF-16 offsets into text, as the package
 * reports them), sorted and non-overlapping; the text between them plain. Overlapping spans keep the first.
 */
export function renderMarked(root, text, spans) {
  const parts = [];
  let at = 0;
  for (const s of [...spans].sort((a, b) => a.start - b.start || b.end - a.end)) {
    if (s.start < at || s.end <= s.start) continue;
    if (s.start > at) parts.push(text.slice(at, s.start));
    const hue = labelHue(s.label);
    parts.push(el('mark', {
      title: s.title ?? s.label,
      style: { background: `hsl(${hue} 80% 88%)`, borderColor: `hsl(${hue} 55% 45%)` },
      dataset: { start: String(s.start), end: String(s.end), label: s.label },
    }, text.slice(s.start, s.end), el('span', { className: 'mark-label mono' }, s.label)));
    at = s.end;
  }
  if (at < text.length) parts.push(text.slice(at));
  root.replaceChildren(...parts);
}

/** Entities as a list: label, score, [start, end), the word. */
export function renderEntities(root, entities) {
  root.replaceChildren(...entities.map((e) => {
    const label = e.entity_group ?? e.entity;
    return el('li', { dataset: { label, start: String(e.start), end: String(e.end) } },
      el('span', { className: 'mono' }, `${label} ${e.score.toFixed(3)} [${e.start}, ${e.end}) `), el('q', {}, e.word));
  }));
}

/** Answers: score, [start, end), the answer text. */
export function renderAnswers(root, answers) {
  root.replaceChildren(...answers.map((a) => el('li', { dataset: { start: String(a.start), end: String(a.end), score: String(a.score) } },
    el('span', { className: 'mono' }, `${a.score.toFixed(4)} [${a.start}, ${a.end}) `), el('q', {}, a.answer))));
}
