import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { distDir, requireBuild } from './support/dist.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const available = existsSync(CHROMIUM);
if (!available && process.env.CI) {
  throw new Error(`Chromium not found at ${CHROMIUM}: .ci/run installs Debian's chromium; CI must not skip this test`);
}
if (!available) console.warn(`SKIPPING the real-browser test: no Chromium at ${CHROMIUM} (apt-get install chromium)`);

// The page imports the built ESM bundle as a browser would, with no Node API available, and reports the
// grant times of both kinds of bucket.
const page = `<!doctype html><meta charset="utf-8"><title>token-bucket-filter</title>
<script type="module">
  import { TokenBucketFilterFactory } from '/index.js';
  const run = async (kind) => {
    // Taken before the bucket exists, so that no work between its creation and here counts as early.
    const start = performance.now();
    const bucket = TokenBucketFilterFactory.create({ capacity: 1, refillInterval: 100, initialTokens: 0, kind });
    const grants = [];
    await Promise.all([0, 1, 2].map(async () => {
      await bucket.getToken();
      grants.push(performance.now() - start);
    }));
    const afterClose = bucket.close();
    return { kind, grants, available: bucket.available, afterClose: String(afterClose) };
  };
  try {
    window.__result = { ok: true, runs: [await run('lazy'), await run('timer')] };
  } catch (error) {
    window.__result = { ok: false, error: String(error && error.stack || error) };
  }
</script>`;

describe.runIf(available)('in a real browser (headless Chromium)', () => {
  let server: Server;
  let browser: BrowserContext | undefined;
  let userDataDir: string;
  let origin: string;

  beforeAll(async () => {
    requireBuild();
    // The page, and the built ESM files (the entry and the chunks it imports) straight from dist/.
    server = createServer((request, response) => {
      const file = basename(request.url ?? '/');
      if (file.endsWith('.js') && existsSync(join(distDir, file))) {
        response.writeHead(200, { 'content-type': 'text/javascript' }).end(readFileSync(join(distDir, file)));
      } else if (file.endsWith('.js')) {
        response.writeHead(404).end();
      } else {
        response.writeHead(200, { 'content-type': 'text/html' }).end(page);
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    userDataDir = mkdtempSync(join(tmpdir(), 'tbf-chromium-'));
    // A fresh, empty profile: playwright passes it to Chromium as --user-data-dir.
    browser = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await new Promise((resolve) => server.close(resolve));
    rmSync(userDataDir, { recursive: true, force: true });
  });

  it('grants both kinds of bucket on schedule from the ESM bundle', async () => {
    if (browser === undefined) throw new Error('Chromium did not start');
    const tab = await browser.newPage();
    const errors: string[] = [];
    tab.on('pageerror', (error) => errors.push(String(error)));
    await tab.goto(origin);
    await tab.waitForFunction(() => (window as { __result?: unknown }).__result !== undefined, null, {
      timeout: 20_000,
    });
    const result = (await tab.evaluate(() => (window as { __result?: unknown }).__result)) as {
      ok: boolean;
      error?: string;
      runs: Array<{ kind: string; grants: number[]; available: number }>;
    };
    expect(errors).toEqual([]);
    expect(result.error).toBeUndefined();
    expect(result.runs.map((r) => r.kind)).toEqual(['lazy', 'timer']);
    for (const run of result.runs) {
      expect(run.grants).toHaveLength(3);
      run.grants.forEach((at, i) => {
        // Real time in a browser: each grant comes at (i + 1) × 100 ms, never early; generous when late.
        expect(at).toBeGreaterThanOrEqual((i + 1) * 100 - 1);
        expect(at).toBeLessThan((i + 1) * 100 + 500);
      });
      expect(run.available).toBe(0);
    }
  }, 60_000);
});
