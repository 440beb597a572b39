// The `xlmr` command: each subcommand on the fixture model (outputs equal the references), --json,
// stdin input, progress on stderr (plain lines when not a terminal, a bar on one), errors and exit codes.
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT, FIXTURES, BUILDS, requireBuild, loadModelCases, assertFillMask, assertClose } from './helpers/common.mjs';
import { startServer } from './helpers/server.mjs';
import { parseArgs, progressPrinter } from '../../js/cli.js';

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
