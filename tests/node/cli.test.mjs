// The `xlmr` command: each subcommand on the fixture model (outputs equal the references), --json,
// stdin input, progress on stderr (plain lines when not a terminal, a bar on one), errors and exit codes; the
// task commands (classify, rerank, zero-shot, ner, qa) on the tiny head models equal the package's own calls.
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT, FIXTURES, BUILDS, requireBuild, loadModelCases, assertFillMask, assertClose } from './helpers/common.mjs';
import { startServer } from './helpers/server.mjs';
import { parseArgs, progressPrinter } from '../../js/cli.js';
import { load } from '../../js/index.node.js';
import { pathToFileURL } from 'node:url';
import { headModelFolder } from './helpers/head-models.mjs';

const BIN = path.join(ROOT, 'bin', 'xlmr.js');
requireBuild(BUILDS[0]);
const cases = loadModelCases();
const en = cases.find((c) => c.name === 'en_mask');
const el = cases.find((c) => c.name === 'el_two_masks');

function run(args, { input, env } = {}) {
  return new Promise((resolve) => {
    // The command under test uses the build under test.
    const full = args.length && !args[0].startsWith('-') ? [args[0], '--wasm', BUILDS[0].file, ...args.slice(1)] : args;
    const p = spawn(process.execPath, [BIN, ...full], { cwd: ROOT, env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => { stdout += d; });
    p.stderr.on('data', (d) => { stderr += d; });
    p.on('close', (code) => resolve({ code, stdout, stderr }));
    if (input !== undefined) p.stdin.end(input); else p.stdin.end();
  });
}

test('argument parsing and usage errors', async () => {
  assert.deepEqual(parseArgs(['fill-mask', '-m', 'x', '--top-k=3', '--json', 'a <mask>', '--', '--literal']),
    { texts: ['a <mask>', '--literal'], normalize: true, command: 'fill-mask', model: 'x', topK: 3, json: true });
  assert.throws(() => parseArgs(['embed', '--top-k', 'zero']), /positive integer/);
  assert.throws(() => parseArgs(['embed', '--bogus']), /unknown option/);
  const help = await run(['--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /fill-mask/);
  assert.match(help.stdout, /convert/);
  assert.equal((await run([])).code, 2);
  const bad = await run(['frobnicate']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /unknown command/);
  assert.match((await run(['--version'])).stdout, /^\d+\.\d+\.\d+/);
});

test('progress printer: a redrawn bar on a terminal, plain lines otherwise', () => {
  const mk = (tty) => { const out = []; return { out, stream: { isTTY: tty, write: (s) => out.push(s) } }; };
  const a = mk(true);
  const pa = progressPrinter(a.stream);
  for (let i = 0; i <= 10; i++) pa.onProgress({ phase: 'download', file: 'model.safetensors', loaded: i * 1e6, total: 1e7 });
  pa.onProgress({ phase: 'ready', loaded: 1, total: 1 });
  const tty = a.out.join('');
  assert.match(tty, /\r\x1b\[2Kdownloading model\.safetensors \[#+\.*\]/);
  assert.match(tty, /100% 10\.0 MB \/ 10\.0 MB\n$/);
  const b = mk(false);
  const pb = progressPrinter(b.stream);
  for (let i = 0; i <= 100; i++) pb.onProgress({ phase: 'download', file: 'model.safetensors', loaded: i * 1e5, total: 1e7 });
  const lines = b.out.join('').trim().split('\n');
  assert.equal(lines.length, 11, lines.join('|'));
  assert.ok(lines.every((l) => !l.includes('\r')));
  assert.match(lines.at(-1), /downloading model\.safetensors 100% 10\.0 MB \/ 10\.0 MB/);
  const c = mk(false);
  const pc = progressPrinter(c.stream);
  for (let i = 0; i <= 10; i++) pc.onProgress({ phase: 'read', file: 'config.json', loaded: i * 64, total: 640 });
  assert.equal(c.out.join(''), 'reading config.json 640 B\n', 'a small file is one line');
});

test('fill-mask, embed, tokenize, info on the fixture model equal the references', { timeout: 120000 }, async () => {
  const common = ['--model', FIXTURES, '--dtype', 'f32', '--no-cache'];
  const fm = await run(['fill-mask', ...common, '--json', en.texts[0]]);
  assert.equal(fm.code, 0, fm.stderr);
  assertFillMask(JSON.parse(fm.stdout), en.fill_mask[0], 1e-5, 'cli fill-mask');
  assert.match(fm.stderr, /reading model\.safetensors 2\.6 MB\n/, 'plain progress lines when stderr is not a terminal');

  const two = await run(['fill-mask', ...common, '--json'], { input: `${en.texts[0]}\n${el.texts[0]}\n` });
  assert.equal(two.code, 0, two.stderr);
  const [r1, r2] = JSON.parse(two.stdout);
  assertFillMask(r1, en.fill_mask[0], 1e-5, 'stdin 1');
  assertFillMask(r2, el.fill_mask[0], 1e-5, 'stdin 2 (two masks)');

  const plain = await run(['fill-mask', ...common, '-q', en.texts[0]]);
  assert.equal(plain.code, 0);
  assert.equal(plain.stderr, '', '--quiet: no progress');
  assert.ok(plain.stdout.includes(en.fill_mask[0][0].sequence));

  const emb = await run(['embed', ...common, '--json', en.texts[0]]);
  assert.equal(emb.code, 0, emb.stderr);
  assertClose(JSON.parse(emb.stdout), en.mean_pooled_l2[0], 1e-5, 'cli embed');
  const raw = await run(['embed', ...common, '--json', '--no-normalize', '--pooling', 'cls', en.texts[0], el.texts[0]]);
  const vecs = JSON.parse(raw.stdout);
  assert.equal(vecs.length, 2);
  assertClose(vecs[1], el.cls[0], 1e-4, 'cli embed cls');

  const tok = await run(['tokenize', ...common, '--json', en.texts[0]]);
  assert.deepEqual(JSON.parse(tok.stdout).ids, en.input_ids[0]);

  const info = await run(['info', ...common, '--json']);
  const cfg = JSON.parse(info.stdout).config;
  assert.equal(cfg.hiddenSize, 64);
  assert.equal(cfg.vocabSize, 8002);
});

test('errors: exit 1, the code on stderr, {error} with --json', { timeout: 60000 }, async (t) => {
  const srv = await startServer();
  t.after(() => srv.close());
  const r = await run(['fill-mask', '--model', 'nobody/nothing', '--hub-url', srv.url, '--json', 'a <mask>']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /HTTP 404.*ERR_NETWORK/);
  assert.equal(JSON.parse(r.stdout).error.code, 'ERR_NETWORK');
  const nm = await run(['fill-mask', '--model', FIXTURES, '--no-cache', 'no mask here']);
  assert.equal(nm.code, 1);
  assert.match(nm.stderr, /ERR_NO_MASK/);
  const dl = await run(['info', '--model', 'test/tiny', '--no-cache'], { env: { XLMR_HUB_URL: srv.url } });
  assert.equal(dl.code, 0, dl.stderr);
  assert.match(dl.stderr, /downloading model\.safetensors/, 'hub URL from $XLMR_HUB_URL');
});

test('convert: GGUF in q8_0 / f16 / f32 that loads back with the same outputs', { timeout: 120000 }, async (t) => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'xlmr-cli-'));
  t.after(() => fs.rmSync(tmp, { recursive: true, force: true }));
  const sizes = {};
  for (const dtype of ['f32', 'f16', 'q8_0']) {
    const out = path.join(tmp, `tiny.${dtype}.gguf`);
    const c = await run(['convert', '--model', FIXTURES, '--dtype', dtype, '-o', out]);
    assert.equal(c.code, 0, c.stderr);
    sizes[dtype] = fs.statSync(out).size;
    const direct = await run(['fill-mask', '--model', FIXTURES, '--dtype', dtype, '--no-cache', '--json', en.texts[0]]);
    const back = await run(['fill-mask', '--model', out, '--json', en.texts[0]]);
    assert.equal(back.code, 0, back.stderr);
    assert.deepEqual(JSON.parse(back.stdout), JSON.parse(direct.stdout), `${dtype}: GGUF gives what the conversion gave`);
    if (dtype === 'f32') assertFillMask(JSON.parse(back.stdout), en.fill_mask[0], 1e-5, 'f32 gguf');
  }
  assert.ok(sizes.q8_0 < sizes.f16 && sizes.f16 < sizes.f32, JSON.stringify(sizes));
  console.log(`# convert sizes: ${JSON.stringify(sizes)}`);
});

test('task commands on the head models: --json equals the API, text output, usage errors', { timeout: 180000 }, async (t) => {
  const names = ['sentiment', 'reranker', 'nli', 'ner', 'qa'];
  const dirs = Object.fromEntries(names.map((n) => [n, headModelFolder(n)]));
  const models = {};
  t.after(async () => {
    for (const m of Object.values(models)) await m.dispose();
    for (const f of Object.values(dirs)) f.remove();
  });
  for (const n of names) models[n] = await load(dirs[n].dir, { dtype: 'f32', worker: false, cache: false, wasmUrl: pathToFileURL(BUILDS[0].file) });
  const cli = async (name, args, opts) => {
    const r = await run([args[0], '--model', dirs[name].dir, '--dtype', 'f32', '--no-cache', '-q', ...args.slice(1)], opts);
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    return r;
  };
  const same = (r, want, what) => assert.deepEqual(JSON.parse(r.stdout), JSON.parse(JSON.stringify(want)), what);

  const texts = ['I love this film.', 'Das war schrecklich.', 'Ça va.'];
  same(await cli('sentiment', ['classify', '--json', texts[0]]), await models.sentiment.classify([texts[0]], { topK: 1 }).then((r) => r[0]), 'classify one text');
  same(await cli('sentiment', ['classify', '--json', '--top-k', 'all', ...texts]), await models.sentiment.classify(texts, { topK: null }), 'classify --top-k all');
  same(await cli('sentiment', ['classify', '--json', '-k', '2', '--text-pair', 'a second text', texts[0], texts[1]]),
    await models.sentiment.classify(texts.slice(0, 2).map((text) => ({ text, textPair: 'a second text' })), { topK: 2 }), 'classify pairs');
  same(await cli('sentiment', ['classify', '--json', '--function', 'none'], { input: texts.join('\n') + '\n' }),
    await models.sentiment.classify(texts, { topK: 1, functionToApply: 'none' }), 'classify from stdin');
  const plainCls = await cli('sentiment', ['classify', texts[0]]);
  const top = (await models.sentiment.classify(texts[0], { topK: 1 }))[0];
  assert.equal(plainCls.stdout, `${texts[0]}\n  ${top.score.toFixed(4)}  ${top.label}\n`);

  const query = 'What is the capital of France?';
  const docs = ['Paris is the capital of France.', 'Bananas are yellow.', 'Berlin liegt in Deutschland.'];
  same(await cli('reranker', ['rerank', '--json', '--query', query, ...docs]), await models.reranker.rerank(query, docs, { returnDocuments: true }), 'rerank');
  same(await cli('reranker', ['rerank', '--json', '--raw-scores', '--top-k', '2', '--query', query], { input: docs.join('\n') }),
    await models.reranker.rerank(query, docs, { returnDocuments: true, rawScores: true, topK: 2 }), 'rerank raw, stdin');
  const plainRr = await cli('reranker', ['rerank', '--query', query, ...docs]);
  assert.equal(plainRr.stdout.trim().split('\n').length, 3);
  assert.match(plainRr.stdout, /^\d\.\d{4} {2}\[\d\] /);

  const labels = ['sports', 'politics', 'science'];
  same(await cli('nli', ['zero-shot', '--json', '--labels', labels.join(','), texts[0]]), await models.nli.zeroShot(texts[0], labels), 'zero-shot');
  same(await cli('nli', ['zero-shot', '--json', '--multi-label', '--template', 'It is about {}.', '--labels', 'sports, politics', texts[0], texts[1]]),
    await Promise.all(texts.slice(0, 2).map((x) => models.nli.zeroShot(x, ['sports', 'politics'], { multiLabel: true, hypothesisTemplate: 'It is about {}.' }))), 'zero-shot multi-label, template');

  const nerText = 'Angela Merkel visited Paris and met Emmanuel Macron in the Élysée.';
  same(await cli('ner', ['ner', '--json', nerText]), await models.ner.tokenClassify(nerText, { aggregationStrategy: 'simple' }), 'ner (simple by default)');
  for (const a of ['none', 'first', 'average', 'max']) {
    same(await cli('ner', ['ner', '--json', '--aggregation', a, nerText]), await models.ner.tokenClassify(nerText, { aggregationStrategy: a }), `ner --aggregation ${a}`);
  }
  const plainNer = await cli('ner', ['ner', nerText]);
  const ents = await models.ner.tokenClassify(nerText, { aggregationStrategy: 'simple' });
  assert.equal(plainNer.stdout.trim().split('\n').length, 1 + ents.length);

  const context = 'The capital of France is Paris. Berlin is the capital of Germany, and Madrid of Spain.';
  same(await cli('qa', ['qa', '--json', '--question', query, '--context', context]), await models.qa.answer({ question: query, context }), 'qa');
  same(await cli('qa', ['qa', '--json', '--top-k', '3', '--max-answer-len', '5', '--question', query], { input: context }),
    await models.qa.answer({ question: query, context }, { topK: 3, maxAnswerLen: 5 }), 'qa top-k 3, context from stdin');

  // The model lacks the head: exit 1 with ERR_UNSUPPORTED (as JSON with --json).
  const wrong = await run(['ner', '--model', dirs.qa.dir, '--no-cache', '-q', '--json', 'text']);
  assert.equal(wrong.code, 1);
  assert.equal(JSON.parse(wrong.stdout).error.code, 'ERR_UNSUPPORTED');
  // Usage errors: exit 2 without loading anything.
  for (const args of [
    ['rerank', 'doc'], ['zero-shot', 'text'], ['zero-shot', '--labels', ' , ', 'text'], ['qa', '--context', 'c'],
    ['qa', '--question', 'q', '--context', 'c', 'extra'], ['ner', '--aggregation', 'longest', 'x'], ['embed', '--query', 'q', 'x'],
    ['fill-mask', '--labels', 'a', 'x <mask>'], ['classify', '--function', 'relu', 'x'], ['ner', '--stride', '-1', 'x'],
    ['qa', '--question', 'q', '--context', 'c', '--top-k', 'all'],
  ]) {
    const r = await run(args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /^xlmr/);
  }
});
