import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { distCjs, distEsmUrl, repoRoot, requireBuild } from './support/dist.js';

const exported = [
  'BucketClosedError',
  'BucketNotStartedError',
  'KeyedTokenBucketFilter',
  'LazyTokenBucketFilter',
  'MAX_TIMER_DELAY',
  'MaxWaitExceededError',
  'TimerTokenBucketFilter',
  'TokenBucketFilterFactory',
  'wrap',
];

describe('the built package', () => {
  beforeAll(requireBuild);

  it('imports from ESM', async () => {
    const module = (await import(distEsmUrl)) as Record<string, unknown>;
    expect(Object.keys(module).sort()).toEqual(exported);
  });

  it('require()s from CommonJS, in a separate process', () => {
    const out = execFileSync(
      process.execPath,
      ['-e', `const m = require(${JSON.stringify(distCjs)}); console.log(Object.keys(m).sort().join(','))`],
      { encoding: 'utf8' },
    );
    expect(out.trim()).toBe(exported.join(','));
  });

  it('resolves its own name through the exports map from both module systems', () => {
    const esm = execFileSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        "import { TokenBucketFilterFactory as F } from 'token-bucket-filter'; console.log(typeof F.create)",
      ],
      { encoding: 'utf8', cwd: repoRoot },
    );
    const cjs = execFileSync(
      process.execPath,
      ['-e', "console.log(typeof require('token-bucket-filter').TokenBucketFilterFactory.create)"],
      { encoding: 'utf8', cwd: repoRoot },
    );
    expect([esm.trim(), cjs.trim()]).toEqual(['function', 'function']);
  });

  it.each([
    ['token-bucket-filter/shared', 'SharedTokenBucketFilter'],
    ['token-bucket-filter/redis', 'RedisTokenBucketFilter'],
  ])('resolves the subpath %s from both module systems, sharing the core error classes', (subpath, name) => {
    const esm = execFileSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `import * as sub from '${subpath}'; import * as core from 'token-bucket-filter';` +
          `console.log(typeof sub.${name}, sub.BucketClosedError === undefined || sub.BucketClosedError === core.BucketClosedError)`,
      ],
      { encoding: 'utf8', cwd: repoRoot },
    );
    const cjs = execFileSync(process.execPath, ['-e', `console.log(typeof require('${subpath}').${name})`], {
      encoding: 'utf8',
      cwd: repoRoot,
    });
    expect([esm.trim(), cjs.trim()]).toEqual(['function true', 'function']);
  });

  it('publishes only dist/, README.md, LICENSE and package.json (npm pack --dry-run)', () => {
    const packed = JSON.parse(
      execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: repoRoot, encoding: 'utf8' }),
    ) as Array<{ files: Array<{ path: string }> }>;
    const files = packed[0]?.files.map((file) => file.path) ?? [];
    expect(files).toContain('dist/index.js');
    expect(files.filter((file) => !/^(dist\/|README\.md$|LICENSE$|package\.json$)/.test(file))).toEqual([]);
  });

  it('the core source imports nothing Node-only, so it runs in any JavaScript runtime', () => {
    const files: string[] = [];
    const walk = (dir: string) => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        // The Redis store (its own subpath export) talks to a Node Redis client; everything else is core.
        if (entry.isDirectory() && path === join(repoRoot, 'src', 'redis')) continue;
        if (entry.isDirectory()) walk(path);
        else if (path.endsWith('.ts')) files.push(path);
      }
    };
    walk(join(repoRoot, 'src'));
    const nodeImports = files.filter((file) =>
      /from ['"](node:|fs|path|events|timers|worker_threads|child_process)/.test(readFileSync(file, 'utf8')),
    );
    expect(nodeImports).toEqual([]);
    const bundle = readFileSync(join(repoRoot, 'dist/index.js'), 'utf8');
    expect(bundle).not.toMatch(/\brequire\(|from ['"]node:/);
  });
});
