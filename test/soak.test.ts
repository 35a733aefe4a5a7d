import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { distDir, repoRoot, requireBuild } from './support/dist.js';
import { implementations } from './support/implementations.js';

const script = fileURLToPath(new URL('./soak/soak.mjs', import.meta.url));

// Every entry of the list that the soak applies to (the others print why not: a million operations
// through Redis would take minutes), each bucket of a random one of them.
const soaked = implementations.filter((entry) => {
  const reason = entry.skip.soak;
  if (reason !== undefined) console.warn(`  not soaked: ${entry.name}: ${reason}`);
  return reason === undefined;
});

describe('soak', () => {
  beforeAll(requireBuild);

  it('a million random operations leave no promise pending, no timer, and no heap growth', () => {
    const output = execFileSync(
      process.execPath,
      ['--expose-gc', script, distDir, '1000000', '7', ...soaked.map((entry) => entry.name)],
      {
        cwd: repoRoot,
        encoding: 'utf8',
        timeout: 60_000,
      },
    );
    const result = JSON.parse(output) as Record<string, number> & { kinds: string[] };
    console.log('soak:', output.trim());
    expect(result.kinds).toEqual(soaked.map((entry) => entry.name));
    expect(soaked.map((entry) => entry.name)).toContain('SharedTokenBucketFilter');
    expect(result.outstanding).toBe(0);
    expect(result.timersLeft).toBe(0);
    expect(result.granted).toBeGreaterThan(10_000);
    expect(result.rejected).toBeGreaterThan(10_000);
    expect(result.tryTrue).toBeGreaterThan(1000);
    expect(result.closes).toBeGreaterThan(100);
    // What is left after GC must not scale with the million operations: 1 MiB is ~1 byte per operation.
    expect(result.heapDelta).toBeLessThan(1024 * 1024);
  }, 90_000);
});
