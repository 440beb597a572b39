// Summarises a bench/run.mjs results file into BENCHMARKS.md (its own section, between markers, so other
// sections stay) and bench/latency.svg (encoder latency against sequence length, ours beside ORT Web).

import fs from 'node:fs';
import path from 'node:path';

const BEGIN = '<!-- bench/run.mjs: begin (generated, edits inside are overwritten) -->';
const END = '<!-- bench/run.mjs: end -->';
const L = 12, H = 768, F = 3072;
const encMacs = (B, T) => B * (L * (4 * H * H + 2 * H * F) * T + L * 2 * T * T * H);

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n === 0 ? NaN : n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}
const fmt = (x, d = 0) => (Number.isFinite(x) ? x.toFixed(d) : 'n/a');
const ms = (x) => (Number.isFinite(x) ? (x < 100 ? x.toFixed(1) : x.toFixed(0)) : 'n/a');
const CLEAN = 0.5; // a child whose timed runs saw more than this many cores of other load is left out (if others exist)

export function summarize(rows) {
  const groups = new Map();
  for (const r of rows) {
    if (!r.ok) continue;
    const k = key(r);
    if (!groups.has(k)) groups.set(k, []);
    groups.get(k).push(r);
  }
  const stats = new Map();
  for (const [k, rs] of groups) {
    const clean = rs.filter((r) => !(r.foreignCores > CLEAN));
    const use = clean.length ? clean : rs;
    const times = use.flatMap((r) => r.times ?? []);
    const per = use.map((r) => (r.kind === 'load' ? r.loadMs : r.medianMs));
    stats.set(k, {
      rs: use, noisy: clean.length === 0, n: times.length, children: use.length,
      medianMs: times.length ? median(times) : median(per), lo: Math.min(...per), hi: Math.max(...per),
      peakRssMB: median(use.map((r) => r.peakRssMB)), wasmMemMB: median(use.map((r) => r.wasmMemMB ?? NaN)),
      loadMs: median(use.map((r) => r.loadMs)), initMs: median(use.map((r) => r.initMs)), fileBytes: use[0].fileBytes,
      firstMs: median(use.map((r) => r.firstMs ?? NaN)),
    });
  }
  return stats;
}

export function key(r) {
  return [r.name, r.side, r.side === 'ours' ? r.ourFormat : r.ortModel ?? (r.kind === 'fill' ? 'mlm_q8' : 'encoder_q8'), r.threads].join('|');
}

/** ours/ORT paired by round (children run back to back), median over rounds; pooled medians otherwise. */
function ratio(rows, a, b, field = 'medianMs') {
  const ok = (r) => r.ok && !(r.foreignCores > CLEAN);
  const ra = rows.filter((r) => r.ok && key(r) === a), rb = rows.filter((r) => r.ok && key(r) === b);
  const pairs = [];
  for (const x of ra.filter(ok)) for (const y of rb.filter(ok)) if (x.round === y.round) pairs.push(x[field] / y[field]);
  if (pairs.length) return median(pairs);
  if (ra.length && rb.length) return median(ra.map((r) => r[field])) / median(rb.map((r) => r[field]));
  return NaN;
}

export function writeReport(resultsFile, { root }) {
  const lines = fs.readFileSync(resultsFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  const facts = lines.find((l) => l.facts)?.facts ?? {};
  const rows = lines.filter((l) => !l.facts && !l.appended);
  const appended = lines.filter((l) => l.appended).map((l) => l.appended);
  const S = summarize(rows);
  const fmtOurs = facts.ourFormat ?? 'safetensors';
  const kOurs = (name, t, f = fmtOurs) => `${name}|ours|${f}|${t}`;
  const kOrt = (name, t, m) => `${name}|ort|${m ?? (name.startsWith('fill') ? 'mlm_q8' : 'encoder_q8')}|${t}`;
  const cell = (s) => (s ? `${ms(s.medianMs)} (${ms(s.lo)}–${ms(s.hi)})${s.noisy ? ' noisy' : ''}` : 'n/a');
  const out = [];
  const cmd = `node bench/run.mjs ${(facts.argv ?? []).join(' ')}`.trim();
  out.push(`Command: \`${cmd}\` (= \`npm run bench\` with those options) — ${facts.start ?? ''}, commit ${facts.commit ?? '?'}${facts.wasmDir ? ' (builds made from a clean export of that commit)' : facts.dirty?.length ? ` plus uncommitted changes in ${facts.dirty.map((l) => l.slice(3)).join(', ')}` : ''}; children at nice ${facts.nice ?? 0} (both sides).`);
  out.push(`Machine: ${facts.cpuModel}, ${facts.nproc} cores, ${facts.memGB} GB, Node ${facts.node} (V8 ${facts.v8}); ONNX Runtime Web ${facts.ortWeb ?? 'absent'}.`);
  out.push(`Model: random-weight XLM-R base (12 × 768, FFN 3072, vocab 250002) from \`../shared/tools/peer-model\`. Ours: ` +
    (fmtOurs === 'gguf' ? 'Q8_0 GGUF converted from hf/model.safetensors' : 'hf/model.safetensors (F32) quantized to Q8_0 while streaming') +
    '; ORT Web: `encoder_q8.onnx` / `mlm_q8.onnx` (transformers.js-style dynamic int8). Batch 1 unless noted; times are medians in ms over all timed runs of every round, (min–max of per-process medians); ratio = ours / ORT, paired by round.');
  out.push(`Wasm sizes: ${Object.entries(facts.wasmBytes ?? {}).map(([k, v]) => `${k} ${v ? (v / 1024).toFixed(0) + ' KiB' : 'n/a'}`).join(', ')}.`);
  out.push('');

  // latency
  out.push('| work | threads | xlmr-wasm ms | ORT Web ms | ratio | target | xlmr GOP/s |', '|---|---|---|---|---|---|---|');
  const latency = [['enc16', 'encoder, seq 16', 1, 16], ['enc128', 'encoder, seq 128', 1, 128], ['enc512', 'encoder, seq 512', 1, 512],
    ['fill16', 'fill-mask end to end, seq 16', 1, 16], ['fill128', 'fill-mask end to end, seq 128', 1, 128]];
  for (const [name, label, B, T] of latency) {
    for (const t of [1, 2]) {
      const a = S.get(kOurs(name, t)), b = S.get(kOrt(name, t));
      if (!a && !b) continue;
      const target = name.startsWith('fill') ? '≤ 0.30' : '≤ 0.75';
      const gops = a ? (2 * encMacs(B, T)) / 1e9 / (a.medianMs / 1000) : NaN;
      out.push(`| ${label} | ${t} | ${cell(a)} | ${cell(b)} | ${fmt(ratio(rows, kOurs(name, t), kOrt(name, t)), 2)} | ${target} | ${name.startsWith('enc') ? fmt(gops, 1) : ''} |`);
    }
  }
  out.push('');
  // paired
  const paired = rows.filter((r) => r.ok && r.side === 'pair');
  if (paired.length) {
    out.push('| paired in one process (alternating single runs) | threads | pairs | xlmr-wasm ms | ORT Web ms | ratio (interquartile range) | target |', '|---|---|---|---|---|---|---|');
    for (const [name, label] of latency.map(([n, l]) => [n, l]).concat([['enc8x128', 'encoder, 8 × 128']])) {
      for (const r of paired.filter((x) => x.name === name).sort((x, y) => x.threads - y.threads)) {
        out.push(`| ${label} | ${r.threads} | ${r.ratios.length} | ${ms(r.oursMedianMs)} | ${ms(r.ortMedianMs)} | ${fmt(r.ratioMedian, 2)} (${fmt(r.ratioQ1, 2)}–${fmt(r.ratioQ3, 2)}) | ${name.startsWith('fill') ? '≤ 0.30' : '≤ 0.75'} |`);
      }
    }
    const extra = appended.map((f) => `\`node bench/run.mjs ${f.argv.join(' ')}\` (${f.start}, commit ${f.commit})`).join('; ');
    out.push('', (extra ? `Paired children added by ${extra}. ` : '') + 'Paired: both runtimes loaded in one process, single runs alternated (ours, ORT, ORT, ours, …) 30 ms apart after a common warm-up; ratio = median of the per-pair ratios. The host\'s speed drifts within seconds (other tenants), which moves the per-process medians above by up to ±30 %; pairs of neighbouring runs see nearly the same machine.', '');
  }
  // throughput
  out.push('| throughput, batch 8 × 128 | threads | xlmr-wasm seq/s | ORT Web seq/s | time ratio | xlmr ms/batch | ORT ms/batch |', '|---|---|---|---|---|---|---|');
  for (const t of [1, 2]) {
    const a = S.get(kOurs('enc8x128', t)), b = S.get(kOrt('enc8x128', t));
    if (!a && !b) continue;
    const sps = (s) => (s ? fmt(8000 / s.medianMs, 1) : 'n/a');
    out.push(`| encoder | ${t} | ${sps(a)} | ${sps(b)} | ${fmt(ratio(rows, kOurs('enc8x128', t), kOrt('enc8x128', t)), 2)} | ${cell(a)} | ${cell(b)} |`);
  }
  out.push('');
  // loading
  out.push('| load to ready | source | file MB | ms (min–max) | MB/s | runtime init ms | ratio vs ORT mlm_q8 | vs ORT encoder_q8 |', '|---|---|---|---|---|---|---|---|');
  for (const src of ['file', 'http']) {
    const name = `load-${src}`;
    const t = 1;
    const variants = [['xlmr-wasm, Q8_0 GGUF', kOurs(name, t, 'gguf')], ['xlmr-wasm, F32 safetensors → Q8_0', kOurs(name, t, 'safetensors')],
      ['ORT Web, mlm_q8.onnx', kOrt(name, t, 'mlm_q8')], ['ORT Web, encoder_q8.onnx', kOrt(name, t, 'encoder_q8')]];
    for (const [label, k] of variants) {
      const s = S.get(k);
      if (!s) continue;
      const ours = k.includes('|ours|');
      const r1 = ours ? fmt(ratio(rows, k, kOrt(name, t, 'mlm_q8'), 'loadMs'), 2) : '';
      const r2 = ours ? fmt(ratio(rows, k, kOrt(name, t, 'encoder_q8'), 'loadMs'), 2) : '';
      out.push(`| ${label} | ${src === 'http' ? 'HTTP 127.0.0.1' : 'file'} | ${fmt(s.fileBytes / 1e6)} | ${ms(s.loadMs)} (${ms(s.lo)}–${ms(s.hi)}) | ${fmt(s.fileBytes / 1e6 / (s.loadMs / 1000))} | ${ms(s.initMs)} | ${r1} | ${r2} |`);
    }
  }
  out.push('', 'Load to ready: from the first byte requested to a model that can run (ours: `xlmr_loader_finish` returned; ORT: `InferenceSession.create` resolved on the fetched/read bytes, as transformers.js does). Runtime init (wasm compile + instantiate; ORT: a session on a 65-byte model) is separate. Target: ≤ 0.30 against ORT on the same work (fill-mask model).', '');
  // memory
  out.push('| peak RSS (whole process) | threads | xlmr-wasm MB | xlmr wasm memory MB | ORT Web MB | ratio |', '|---|---|---|---|---|---|');
  for (const [name, label] of [['enc16', 'encoder, seq 16'], ['enc128', 'encoder, seq 128'], ['enc512', 'encoder, seq 512'], ['enc8x128', 'encoder, 8 × 128'],
    ['fill16', 'fill-mask, seq 16'], ['fill128', 'fill-mask, seq 128']]) {
    for (const t of [1, 2]) {
      const a = S.get(kOurs(name, t)), b = S.get(kOrt(name, t));
      if (!a && !b) continue;
      out.push(`| ${label} | ${t} | ${a ? fmt(a.peakRssMB) : 'n/a'} | ${a ? fmt(a.wasmMemMB) : 'n/a'} | ${b ? fmt(b.peakRssMB) : 'n/a'} | ${fmt(ratio(rows, kOurs(name, t), kOrt(name, t), 'peakRssMB'), 2)} |`);
    }
  }
  out.push('', 'Target: peak RSS ≤ 0.35× ORT Web; each process runs one case, so its peak covers loading and running.', '');
  // correctness
  const chk = rows.filter((r) => r.ok && r.kind === 'check');
  const bad = rows.filter((r) => !r.ok);
  if (chk.length) {
    out.push('| correctness vs PyTorch (hf/reference_io, 2 × 16, padded row) | min token cosine | mean token cosine | max abs | logits min cosine | MLM top-1 agree |', '|---|---|---|---|---|---|');
    for (const r of chk) {
      const c = r.check;
      const label = r.side === 'ours' ? `xlmr-wasm, ${r.dtype ?? 'q8_0'} (from F32 safetensors)` : 'ORT Web, encoder_q8';
      out.push(`| ${label} | ${fmt(c.minTokenCos, 5)} | ${fmt(c.meanTokenCos, 5)} | ${fmt(c.hiddenMaxAbs, 4)} | ${fmt(c.minLogitCos, 5)} | ${c.top1Agree !== undefined ? `${fmt(100 * c.top1Agree, 0)}% of ${c.tokens}` : 'n/a'} |`);
    }
    out.push('');
  }
  const unavailable = [1, 2].filter((t) => t === 2 && !rows.some((r) => r.ok && r.side === 'ours' && r.threads === 2));
  if (unavailable.length) out.push('xlmr-wasm on 2 threads: n/a (no threaded build yet).', '');
  if (bad.length) out.push(`Failed children: ${bad.map((r) => `${r.name}/${r.side}/${r.threads}t: ${String(r.error).split('\n')[0]}`).join('; ')}`, '');
  out.push(`Raw results: [\`${path.relative(root, resultsFile)}\`](${path.relative(root, resultsFile)}). Chart: [bench/latency.svg](bench/latency.svg)`, '', '![encoder latency vs sequence length](bench/latency.svg)');

  const section = [BEGIN, '## Speed and memory against ONNX Runtime Web', '', ...out, END].join('\n');
  const mdPath = path.join(root, 'BENCHMARKS.md');
  let md = fs.existsSync(mdPath) ? fs.readFileSync(mdPath, 'utf8') : '# Benchmarks\n\n';
  const i = md.indexOf(BEGIN), j = md.indexOf(END);
  if (i >= 0 && j > i) md = md.slice(0, i) + section + md.slice(j + END.length);
  else md = md.replace(/\s*$/, '\n\n') + section + '\n';
  fs.writeFileSync(mdPath, md);
  fs.writeFileSync(path.join(root, 'bench', 'latency.svg'), chart(S, kOurs, kOrt));
  console.log(section);
}

function chart(S, kOurs, kOrt) {
  const seqs = [16, 128, 512];
  const series = [
    ['xlmr-wasm, 1 thread', (T) => S.get(kOurs(`enc${T}`, 1)), '#1f77b4', ''],
    ['xlmr-wasm, 2 threads', (T) => S.get(kOurs(`enc${T}`, 2)), '#1f77b4', '6 4'],
    ['ORT Web, 1 thread', (T) => S.get(kOrt(`enc${T}`, 1)), '#d62728', ''],
    ['ORT Web, 2 threads', (T) => S.get(kOrt(`enc${T}`, 2)), '#d62728', '6 4'],
  ];
  const W = 640, Hh = 420, ml = 70, mr = 190, mt = 40, mb = 50;
  const all = series.flatMap(([, g]) => seqs.map((T) => g(T)?.medianMs)).filter(Number.isFinite);
  const yMin = Math.pow(10, Math.floor(Math.log10(Math.min(...all, 10)))), yMax = Math.pow(10, Math.ceil(Math.log10(Math.max(...all, 100))));
  const x = (T) => ml + ((Math.log2(T) - 4) / (9 - 4)) * (W - ml - mr);
  const y = (v) => mt + (1 - (Math.log10(v) - Math.log10(yMin)) / (Math.log10(yMax) - Math.log10(yMin))) * (Hh - mt - mb);
  const o = [`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${Hh}" viewBox="0 0 ${W} ${Hh}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${Hh}" fill="white"/>`,
    `<text x="${ml}" y="22" font-size="14" font-weight="bold">XLM-R base encoder latency, batch 1 (median ms, log scale)</text>`];
  for (let v = yMin; v <= yMax; v *= 10) {
    for (const m of [1, 2, 5]) {
      const vv = v * m;
      if (vv > yMax) break;
      o.push(`<line x1="${ml}" x2="${W - mr}" y1="${y(vv).toFixed(1)}" y2="${y(vv).toFixed(1)}" stroke="#ddd"/>`);
      o.push(`<text x="${ml - 6}" y="${(y(vv) + 4).toFixed(1)}" text-anchor="end">${vv}</text>`);
    }
  }
  for (const T of seqs) {
    o.push(`<line x1="${x(T).toFixed(1)}" x2="${x(T).toFixed(1)}" y1="${mt}" y2="${Hh - mb}" stroke="#eee"/>`);
    o.push(`<text x="${x(T).toFixed(1)}" y="${Hh - mb + 18}" text-anchor="middle">${T}</text>`);
  }
  o.push(`<text x="${(ml + W - mr) / 2}" y="${Hh - 12}" text-anchor="middle">sequence length (tokens)</text>`);
  o.push(`<rect x="${ml}" y="${mt}" width="${W - ml - mr}" height="${Hh - mt - mb}" fill="none" stroke="#888"/>`);
  series.forEach(([label, g, color, dash], i) => {
    const pts = seqs.map((T) => [T, g(T)?.medianMs]).filter(([, v]) => Number.isFinite(v));
    const ly = mt + 10 + i * 22;
    o.push(`<line x1="${W - mr + 12}" x2="${W - mr + 42}" y1="${ly}" y2="${ly}" stroke="${color}" stroke-width="2.5" stroke-dasharray="${dash}"/>`);
    o.push(`<text x="${W - mr + 48}" y="${ly + 4}">${label}${pts.length ? '' : ' (n/a)'}</text>`);
    if (!pts.length) return;
    o.push(`<polyline fill="none" stroke="${color}" stroke-width="2.5" stroke-dasharray="${dash}" points="${pts.map(([T, v]) => `${x(T).toFixed(1)},${y(v).toFixed(1)}`).join(' ')}"/>`);
    for (const [T, v] of pts) o.push(`<circle cx="${x(T).toFixed(1)}" cy="${y(v).toFixed(1)}" r="3.5" fill="${color}"><title>${label}, seq ${T}: ${ms(v)} ms</title></circle>`);
  });
  o.push('</svg>');
  return o.join('\n') + '\n';
}
