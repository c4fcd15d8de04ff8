// Headless Chromium for tests that open generated HTML: Debian's chromium package driven by
// playwright-core (no browser download). CI installs the package (.ci/run); elsewhere the
// browser tests skip with the reason from browserAvailable().
import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM_PATH = process.env.GRADWIRE_CHROMIUM ?? '/usr/bin/chromium';

/** the flags every headless Chromium of the tests and benchmarks gets */
export const CHROMIUM_ARGS = [
  '--headless=new',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-dev-shm-usage',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-default-apps',
  '--disable-extensions',
];

let checked: string | null | undefined;

/** null when Chromium can be launched, else why not (for it.skipIf and its message) */
export function browserAvailable(): string | null {
  if (checked !== undefined) return checked;
  try {
    accessSync(CHROMIUM_PATH, constants.X_OK);
  } catch {
    checked = `no executable chromium at ${CHROMIUM_PATH} (apt-get install chromium, or set GRADWIRE_CHROMIUM)`;
    return checked;
  }
  const r = spawnSync(CHROMIUM_PATH, ['--version'], { encoding: 'utf8', timeout: 20_000 });
  if (r.error || r.status !== 0) {
    const why = r.error?.message ?? (r.stderr.trim().split('\n')[0] || `exit status ${r.status}`);
    checked = `${CHROMIUM_PATH} --version failed: ${why}`;
    return checked;
  }
  checked = null;
  return checked;
}

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, timeout: 60_000 });
}
