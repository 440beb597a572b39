// Opening a URL in Debian's firefox-esr or chromium, headless, with no driver (playwright-core drives only its own
// Firefox builds): a fresh profile kept offline and quiet (Firefox: prefs; Chromium: chromium.mjs's flags). The page
// reports back over HTTP to the server that served it. Used by tests/browser/firefox.test.mjs, bench/browser-ort.mjs
// --browser firefox and bench/browser-kernels.mjs.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { CHROMIUM_PATH, CHROMIUM_FLAGS } from './chromium.mjs';

export const FIREFOX_PATH = process.env.FIREFOX_PATH || '/usr/bin/firefox-esr';

// No first-run pages, updates, telemetry or safe-browsing lookups.
const PREFS = {
  'browser.shell.checkDefaultBrowser': false,
  'browser.startup.homepage_override.mstone': 'ignore',
  'browser.aboutwelcome.enabled': false,
  'datareporting.policy.dataSubmissionEnabled': false,
  'datareporting.healthreport.uploadEnabled': false,
  'toolkit.telemetry.enabled': false,
  'app.update.enabled': false,
  'app.normandy.enabled': false,
  'browser.safebrowsing.malware.enabled': false,
  'browser.safebrowsing.phishing.enabled': false,
  'extensions.update.enabled': false,
  'network.captive-portal-service.enabled': false,
  'network.connectivity-service.enabled': false,
  // performance.now() at full resolution (else 1 ms steps off cross-origin isolated pages): the benchmarks time
  // calls of well under a millisecond
  'privacy.reduceTimerPrecision': false,
};

const PATHS = { firefox: FIREFOX_PATH, chromium: CHROMIUM_PATH };
const PACKAGES = { firefox: 'firefox-esr', chromium: 'chromium' };

/** null, or why this browser ('firefox' or 'chromium') cannot run here. */
export function browserMissing(browser) {
  if (!PATHS[browser]) return `unknown browser ${browser}: firefox or chromium`;
  return fs.existsSync(PATHS[browser]) ? null : `${PATHS[browser]} not found: apt-get install -y --no-install-recommends ${PACKAGES[browser]} (or set ${browser.toUpperCase()}_PATH)`;
}

/** The browser on url in a fresh profile: { exited (a promise of the exit code), log () -> its output, close () }. */
export function openUrl(browser, url) {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), `xlmr-${browser}-`));
  let argv;
  if (browser === 'firefox') {
    fs.writeFileSync(path.join(profile, 'user.js'), Object.entries(PREFS).map(([k, v]) => `user_pref(${JSON.stringify(k)}, ${JSON.stringify(v)});\n`).join(''));
    argv = ['--headless', '--no-remote', '--profile', profile, url];
  } else {
    argv = [...CHROMIUM_FLAGS, `--user-data-dir=${profile}`, url];
  }
  let log = '';
  const child = spawn(PATHS[browser], argv, { env: { ...process.env, MOZ_CRASHREPORTER_DISABLE: '1' } });
  child.stdout.on('data', (d) => { log += d; });
  child.stderr.on('data', (d) => { log += d; });
  const exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    exited,
    log: () => log,
    async close() {
      child.kill('SIGKILL');
      await exited;
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}
