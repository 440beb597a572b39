// Launching Debian's chromium through npm playwright-core (no downloaded browsers): one fresh profile
// per launch, flags that keep it offline and quiet. Tests call findChromium() first and skip, with a
// message, when it returns a reason instead of a path.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

export const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** { chromium, executablePath } or { skip: 'why' }. */
export async function findChromium() {
  if (!fs.existsSync(CHROMIUM_PATH)) {
    return { skip: `${CHROMIUM_PATH} not found: apt-get install -y chromium (or set CHROMIUM_PATH)` };
  }
  let pw;
  try {
    pw = await import('playwright-core');
  } catch {
    return { skip: 'npm package playwright-core is not installed: run npm ci' };
  }
  return { chromium: pw.chromium, executablePath: CHROMIUM_PATH };
}

/** A persistent context on a fresh --user-data-dir, removed by close(). */
export async function launch(chromium, executablePath) {
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'xlmr-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath,
    headless: true,
    args: CHROMIUM_FLAGS.filter((f) => f !== '--headless'), // playwright adds its own headless flag
    viewport: { width: 1100, height: 900 },
    timeout: 60_000,
  });
  return {
    context,
    async close() {
      await context.close().catch(() => {});
      fs.rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}
