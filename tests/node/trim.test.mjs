// Vocabulary trimming through the package (issue 21): model.trim() on the bundled tiny model (in this thread and in
// a Worker), the trimmed GGUF loading back with config.trimmedFrom, its outputs on the trimming corpus against the
// full model's (embeddings within 1e-6 — the kernels and rows are the same, so they come out equal — and fill-mask's
// top 5 within the kept vocabulary), the held-aside report, and the CLI: --languages with the bundled samples, and
// refused corpora (empty, not UTF-8, unknown language) writing nothing. The C side is tests/c/test_trim.c.
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { load, InvalidArgumentError } from '../../js/index.node.js';
import { ROOT, BUILDS, compileBuild, requireBuild } from './helpers/common.mjs';

const build = requireBuild(BUILDS[0]);
const TINY = path.join(ROOT, 'models', 'tiny', 'xlmr-tiny-random.q8_0.gguf');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'xlmr-trim-'));
test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));
const de = fs.readFileSync(path.join(ROOT, 'models', 'corpora', 'de.txt'), 'utf8').split('\n').filter(Boolean).slice(0, 60);
const el = fs.readFileSync(path.join(ROOT, 'models', 'corpora', 'el.txt'), 'utf8').split('\n').filter(Boolean).slice(0, 60);

async function open(source, opts = {}) {
  return load(source, { wasmModule: await compileBuild(build), worker: false, cache: false, ...opts });
}

test('trim(): the corpus gives the full model\'s tokens, embeddings and fill-mask within the kept vocabulary', async () => {
  const full = await open(TINY);
  const { gguf, report } = await full.trim({ corpus: { de, el } });
  const trimmed = await open(gguf);
  try {
    assert.equal(trimmed.config.trimmedFrom, full.config.vocabSize);
    assert.equal(full.config.trimmedFrom, null);
    assert.equal(trimmed.config.vocabSize, report.vocabSize);
    assert.ok(report.vocabSize < full.config.vocabSize * 0.6, `${report.vocabSize} pieces kept`);
    assert.equal(report.corpusTexts, 108); // every 10th of each 60 set aside
    assert.deepEqual(report.heldOut.map((h) => [h.name, h.texts]), [['de', 6], ['el', 6]]);
    for (const h of report.heldOut) assert.ok(h.unchanged >= 0 && h.unchanged <= h.texts && h.share === h.unchanged / h.texts);
    const trainTexts = [...de, ...el].filter((_, i) => i % 60 % 10 !== 9);
    for (const text of trainTexts.slice(0, 30)) {
      const a = await full.tokenize(text), b = await trimmed.tokenize(text);
      assert.deepEqual(b.tokens, a.tokens, text);
    }
    const ea = await full.embed(trainTexts.slice(0, 12)), eb = await trimmed.embed(trainTexts.slice(0, 12));
    for (let i = 0; i < ea.length; i++) {
      let worst = 0;
      for (let j = 0; j < ea[i].length; j++) worst = Math.max(worst, Math.abs(ea[i][j] - eb[i][j]));
      assert.ok(worst <= 1e-6, `text ${i}: embeddings differ by ${worst}`);
    }
    // fill-mask: the full model's ranking restricted to the kept pieces (every piece the trimmed model can predict)
    const text = `${de[0].split(' ').slice(0, -1).join(' ')} <mask>`;
    const pa = await full.fillMask(text, { topK: full.config.vocabSize });
    const all = await trimmed.fillMask(text, { topK: trimmed.config.vocabSize });
    const keptPieces = new Set(all.map((p) => p.token_str));
    assert.deepEqual(all.slice(0, 5).map((p) => p.token_str), pa.filter((p) => keptPieces.has(p.token_str)).slice(0, 5).map((p) => p.token_str));
  } finally {
    await full.dispose();
    await trimmed.dispose();
  }
});

test('trim() in a Worker gives the same file; bad corpora are InvalidArgumentErrors and the model stays usable', async () => {
  const inThread = await open(TINY);
  const worker = await load(TINY, { wasmUrl: build.url, cache: false });
  try {
    const a = await inThread.trim({ corpus: de, heldOut: 0 });
    const b = await worker.trim({ corpus: de, heldOut: 0 });
    assert.deepEqual(b.report, a.report);
    assert.deepEqual(Buffer.from(b.gguf), Buffer.from(a.gguf));
    assert.deepEqual(a.report.heldOut, []);
    for (const bad of [undefined, 'text', [], [1], { de: 'x' }, ['', '  ']]) {
      await assert.rejects(worker.trim({ corpus: bad }), InvalidArgumentError, JSON.stringify(bad));
    }
    await assert.rejects(worker.trim({ corpus: de, heldOut: 1 }), InvalidArgumentError);
    await assert.rejects(worker.trim({ corpus: de, vocabSize: -1 }), InvalidArgumentError);
    assert.ok((await worker.tokenize('noch da')).ids.length > 2);
    const sized = await worker.trim({ corpus: de, vocabSize: 2000, heldOut: 0 });
    assert.equal(sized.report.vocabSize, 2000);
  } finally {
    await inThread.dispose();
    await worker.dispose();
  }
});

function cli(args) {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [path.join(ROOT, 'bin', 'xlmr.js'), 'trim', '--wasm', build.file, '-q', ...args], { cwd: ROOT });
    let out = '', err = '';
    p.stdout.on('data', (d) => { out += d; });
    p.stderr.on('data', (d) => { err += d; });
    p.on('close', (code) => resolve({ code, out, err }));
  });
}

test('xlmr trim: --languages and --corpus write a trimmed GGUF and report; refused corpora write nothing', async () => {
  const out = path.join(tmp, 'de-el.gguf');
  const r = await cli(['-m', TINY, '-o', out, '--languages', 'de,el', '--json']);
  assert.equal(r.code, 0, r.err);
  const rep = JSON.parse(r.out);
  assert.equal(rep.bytes, fs.statSync(out).size);
  assert.deepEqual(rep.heldOut.map((h) => h.name), ['de', 'el']);
  assert.ok(rep.heldOut.every((h) => h.texts === 40));
  const m = await open(out);
  assert.equal(m.config.trimmedFrom, 8002);
  await m.dispose();

  fs.writeFileSync(path.join(tmp, 'empty.txt'), '\n\n');
  fs.writeFileSync(path.join(tmp, 'bad.txt'), Buffer.from([0x6f, 0x6b, 0x0a, 0xff, 0x0a]));
  for (const [args, msg] of [
    [['--corpus', path.join(tmp, 'empty.txt')], /is empty/],
    [['--corpus', path.join(tmp, 'bad.txt')], /not UTF-8/],
    [['--corpus', path.join(tmp, 'missing.txt')], /cannot read/],
    [['--languages', 'xx'], /no bundled sample for language "xx"/],
    [[], /one of --corpus and --languages/],
  ]) {
    const fail = path.join(tmp, 'fail.gguf');
    const e = await cli(['-m', TINY, '-o', fail, ...args]);
    assert.equal(e.code, 2, e.err);
    assert.match(e.err, msg);
    assert.ok(!fs.existsSync(fail), 'nothing written');
  }
  assert.deepEqual(fs.readdirSync(tmp).filter((f) => f.endsWith('.tmp')), []);
});
