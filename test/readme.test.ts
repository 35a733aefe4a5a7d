import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, requireBuild } from './support/dist.js';

const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
const jsBlocks = [...readme.matchAll(/```js\n([\s\S]*?)```/g)].map((match) => match[1] ?? '');
// Examples are written into the package folder so that `import 'token-bucket-filter'` resolves to
// this package (self-reference through its exports map), exactly as it would for a user.
const scratch = join(repoRoot, '.readme-examples');

describe('README', () => {
  beforeAll(() => {
    requireBuild();
    mkdirSync(scratch, { recursive: true });
  });
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('has runnable JavaScript examples', () => {
    expect(jsBlocks.length).toBeGreaterThanOrEqual(3);
  });

  it.each(jsBlocks.map((code, index) => [index + 1, code] as const))(
    'example %i runs and exits cleanly',
    (index, code) => {
      const file = join(scratch, `example-${index}.mjs`);
      writeFileSync(file, code);
      const output = execFileSync(process.execPath, [file], { cwd: repoRoot, encoding: 'utf8', timeout: 20_000 });
      // Every `// value` comment after a console.log states what the example prints.
      const promised = [...code.matchAll(/console\.log\([^\n]*\); \/\/ (.+)$/gm)].map((m) => m[1]);
      const printed = output.trim().split('\n');
      for (const expected of promised) expect(printed).toContain(expected);
    },
  );

  it('shows examples/vitest-example.test.ts verbatim, so the testing example is itself a test', () => {
    const example = readFileSync(join(repoRoot, 'examples/vitest-example.test.ts'), 'utf8');
    expect(readme).toContain(`// examples/vitest-example.test.ts\n${example}`);
  });

  // A block whose first line names a file in examples/ shows that program as it is there (below the
  // file's own header comment), so the README and the examples cannot drift apart.
  const named = jsBlocks.flatMap((code) => {
    const match = /^\/\/ (examples\/[\w.-]+)\n([\s\S]*)$/.exec(code);
    return match?.[1] !== undefined && match[2] !== undefined ? [[match[1], match[2]] as const] : [];
  });
  it('names the example files it shows', () => {
    expect(named.map(([file]) => file).sort()).toEqual(['examples/http-429-server.mjs', 'examples/shared-workers.mjs']);
  });
  it.each(named)('shows %s as it is', (file, body) => {
    expect(readFileSync(join(repoRoot, file), 'utf8')).toContain(body);
  });

  it('shows the recipe clocks that the consumer matrix runs (Jest legacy timers, node:test)', () => {
    const recipe = /```javascript\n([\s\S]*?)```/.exec(readme)?.[1] ?? '';
    const clockLines = recipe
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line.startsWith('performance:') || /^(set|clear)(Timeout|Interval):/.test(line));
    expect(clockLines).toHaveLength(5);
    const suites = ['jest/cjs/in-test.test.cjs', 'jest/esm/in-test.test.mjs', 'node-test/mock-timers.test.mjs'];
    for (const suite of suites) {
      const code = readFileSync(join(repoRoot, 'test/consumers/suites', suite), 'utf8');
      for (const line of clockLines.slice(1)) expect(code, suite).toContain(line);
    }
    expect(readFileSync(join(repoRoot, 'test/consumers/suites/jest/cjs/in-test.test.cjs'), 'utf8')).toContain(
      clockLines[0],
    );
  });

  it('names the test command that .ci/run calls', () => {
    expect(readme).toContain('npm test');
    expect(readFileSync(join(repoRoot, '.ci/run'), 'utf8')).toMatch(/^(scripts\/ci-redis\.sh )?npm test$/m);
  });
});
