// js/index.d.ts type-checks a usage example (tests/node/types/usage.ts) with the pinned TypeScript.
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import fs from 'node:fs';

const root = fileURLToPath(new URL('../../', import.meta.url));
const tsc = fileURLToPath(new URL('../../node_modules/typescript/bin/tsc', import.meta.url));

test('tsc --noEmit on a usage example against js/index.d.ts', { timeout: 120000 }, () => {
  assert.ok(fs.existsSync(tsc), 'typescript is a pinned dev dependency: run npm ci');
  const r = spawnSync(process.execPath, [tsc, '-p', 'tests/node/types/tsconfig.json'], { cwd: root, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stdout + r.stderr);
});
