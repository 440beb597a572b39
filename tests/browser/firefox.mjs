// Launching Debian's firefox-esr headless on a URL, with no driver (playwright-core drives only its own Firefox
// builds): a fresh profile whose prefs keep it offline and quiet. The page reports back over HTTP to the server
// that served it. Used by tests/browser/firefox.test.mjs and bench/browser-ort.mjs --browser firefox.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';

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
};

/** null, or why Firefox cannot run here. */
export function firefoxMissing() {
  return fs.existsSync(FIREFOX_PATH) ? null : `${FIREFOX_PATH} not found: apt-get install -y --no-install-recommends firefox-esr (or set FIREFOX_PATH)`;
}

/** Firefox on url in a fresh profile: { exited (a promise of the exit code), log () -> its output, close () }. */
export function openFirefox(url) {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'xlmr-firefox-'));
  fs.writeFileSync(path.join(profile, 'user.js'), Object.entries(PREFS).map(([k, v]) => `user_pref(${JSON.stringify(k)}, ${JSON.stringify(v)});\n`).join(''));
  let log = '';
  const ff = spawn(FIREFOX_PATH, ['--headless', '--no-remote', '--profile', profile, url], { env: { ...process.env, MOZ_CRASHREPORTER_DISABLE: '1' } });
  ff.stdout.on('data', (d) => { log += d; });
  ff.stderr.on('data', (d) => { log += d; });
  const exited = new Promise((resolve) => ff.on('exit', (code) => resolve(code)));
  return {
    exited,
    log: () => log,
    async close() {
      ff.kill('SIGKILL');
      await exited;
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}
