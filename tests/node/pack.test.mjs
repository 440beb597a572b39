// `npm pack`, then install that tarball into a scratch folder with no network, and run fill-mask on the
// bundled tiny model through the package's public import and through its `xlmr` bin.
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT, requireBuild } from './helpers/common.mjs';

const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
requireBuild({ name: 'clang', file: path.join(ROOT, 'dist', 'xlmr.wasm') }); // the build the package ships first

function sh(cmd, args, cwd, env = {}) {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', env: { ...process.env, npm_config_offline: 'true', npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false', ...env } });
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

test('npm pack: only what users need', { timeout: 120000 }, () => {
  const out = JSON.parse(sh(npm, ['pack', '--dry-run', '--json', '--ignore-scripts'], ROOT));
  const files = out[0].files.map((f) => f.path);
  for (const f of ['package.json', 'README.md', 'js/index.node.js', 'js/index.js', 'js/index.workerd.js', 'js/index.d.ts', 'js/worker.node.js', 'js/worker.web.js', 'bin/xlmr.js']) {
    assert.ok(files.includes(f), `${f} in the package`);
  }
  assert.ok(files.includes('dist/xlmr.wasm'), 'the built wasm is in the package');
  for (const f of files) assert.ok(!/^(src|tests|bench|web|build|\.ci|node_modules)\//.test(f), `${f} should not be packed`);
  console.log(`# package: ${files.length} files, ${(out[0].size / 1e3).toFixed(0)} kB packed, ${(out[0].unpackedSize / 1e3).toFixed(0)} kB unpacked`);
});

test('the packed tarball installs offline and runs fill-mask on the tiny model', { timeout: 180000 }, () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'xlmr-pack-'));
  try {
    const out = JSON.parse(sh(npm, ['pack', '--json', '--ignore-scripts', '--pack-destination', tmp], ROOT));
    const tgz = path.join(tmp, out[0].filename);
    const app = path.join(tmp, 'app');
    fs.mkdirSync(app);
    fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
    sh(npm, ['install', '--offline', '--no-audit', '--no-fund', '--ignore-scripts', tgz], app, { npm_config_cache: path.join(tmp, 'npm-cache') });
    fs.writeFileSync(path.join(app, 'main.js'), `
      import { load } from 'xlmr-wasm';
      import { fileURLToPath } from 'node:url';
      const dir = fileURLToPath(new URL('./node_modules/xlmr-wasm/models/tiny/', import.meta.url));
      const model = await load(dir);
      const preds = await model.fillMask('Hello I am a <mask> model.', { topK: 3 });
      const vec = await model.embed('Hello');
      console.log(JSON.stringify({ n: preds.length, keys: Object.keys(preds[0]), dim: vec.length, mode: model.mode }));
      await model.dispose();
    `);
    const r = JSON.parse(sh(process.execPath, ['main.js'], app));
    assert.deepEqual(r, { n: 3, keys: ['score', 'token', 'token_str', 'sequence'], dim: 64, mode: 'worker' });
    const bin = path.join(app, 'node_modules', '.bin', 'xlmr');
    const cli = sh(bin, ['fill-mask', '--model', 'tiny', '--json', 'Hello I am a <mask> model.'], app);
    assert.equal(JSON.parse(cli).length, 5);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});
