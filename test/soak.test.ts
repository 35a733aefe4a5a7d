import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { distDir, repoRoot, requireBuild } from './support/dist.js';

const script = fileURLToPath(new URL('./soak/soak.mjs', import.meta.url));

describe('soak', () => {
  beforeAll(requireBuild);

  it('a million random operations leave no promise pending, no timer, and no heap growth', () => {
    const output = execFileSync(process.execPath, ['--expose-gc', script, distDir, '1000000', '7'], {
      cwd: repoRoot,
      encoding: 'utf8',
      timeout: 60_000,
    });
    const result = JSON.parse(output) as Record<string, number>;
    console.log('soak:', output.trim());
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
