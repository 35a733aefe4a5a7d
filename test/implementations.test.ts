import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { implementations } from './support/implementations.js';

// The list is the one place that names implementations: every family of it is run by exactly one
// conformance file, and nothing else builds a list of its own.
const testDir = new URL('./', import.meta.url);
const testFiles = readdirSync(testDir).filter((name) => name.endsWith('.test.ts'));
const read = (name: string): string => readFileSync(new URL(name, testDir), 'utf8');

describe('the implementation list', () => {
  it('names every entry once', () => {
    const names = implementations.map((entry) => entry.name);
    expect(new Set(names).size).toBe(names.length);
  });

  it('has every family run by exactly one conformance file, and every conformance file runs a family', () => {
    const families = [...new Set(implementations.map((entry) => entry.family))];
    const conformanceFiles = testFiles.filter((name) => name.endsWith('conformance.test.ts'));
    const runs = conformanceFiles.flatMap((name) =>
      [...read(name).matchAll(/runConformance\('([a-z-]+)'\)/g)].map((match) => [match[1], name] as const),
    );
    expect(runs.map(([family]) => family).sort()).toEqual([...families].sort());
    for (const name of conformanceFiles)
      expect(
        runs.map(([, file]) => file),
        name,
      ).toContain(name);
  });

  it('is the only list of implementations the contract tests use', () => {
    for (const name of [
      'abortListeners.test.ts',
      'fakeTimers.test.ts',
      'soak.test.ts',
      'differential.property.test.ts',
    ]) {
      expect(read(name), name).toContain("from './support/implementations.js'");
      expect(read(name), name).not.toMatch(/new (Lazy|Timer)TokenBucketFilter\(|TokenBucketFilterFactory/);
    }
  });
});
