import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { distDir, repoRoot, requireBuild } from './support/dist.js';

interface Summary {
  median: number;
  min: number;
  max: number;
}
interface Row {
  id: string;
  role: 'reference' | 'ours' | 'peer';
  skipped?: string;
  error?: string;
  samples: Array<Record<string, unknown>>;
  summary?: Record<string, Summary>;
}
interface Report {
  environment: { node: string; quick: boolean };
  results: Array<{ name: string; rows: Row[] }>;
}

const SCENARIOS = ['try-hit', 'try-miss', 'get-hit', 'queue-drain', 'backlog', 'timing', 'idle-waiters'];

// The benchmark itself takes minutes and is not part of the tests; this runs it on tiny sizes
// (--quick) so that it cannot rot. It asserts that it runs and reports, never how fast anything is.
describe('the benchmark on --quick sizes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tbf-bench-smoke-'));
  const jsonFile = join(dir, 'bench.json');
  const svgFile = join(dir, 'timing.svg');
  let run: { status: number | null; stdout: string; stderr: string };
  let report: Report;

  beforeAll(() => {
    requireBuild();
    const result = spawnSync(
      process.execPath,
      ['--expose-gc', 'bench/run.mjs', '--quick', '--json', jsonFile, '--svg', svgFile],
      { cwd: repoRoot, encoding: 'utf8', timeout: 90_000 },
    );
    run = { status: result.status, stdout: result.stdout, stderr: result.stderr };
    if (result.status === 0) report = JSON.parse(readFileSync(jsonFile, 'utf8')) as Report;
  }, 120_000);

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('exits 0 and prints one table per scenario and a summary', () => {
    expect(run.status, run.stderr).toBe(0);
    for (const name of SCENARIOS) expect(run.stdout).toContain(`### ${name}:`);
    expect(run.stdout).toContain('### Summary');
  });

  it('measures the reference and both of our buckets in every scenario, with finite numbers', () => {
    expect(report.results.map((result) => result.name)).toEqual(SCENARIOS);
    for (const result of report.results) {
      for (const id of ['reference', 'lazy', 'timer', 'lazy-observed', 'timer-observed']) {
        const row = result.rows.find((candidate) => candidate.id === id);
        expect(row?.error, `${result.name} ${id}`).toBeUndefined();
        expect(row?.samples.length, `${result.name} ${id}`).toBeGreaterThan(0);
        for (const [key, summary] of Object.entries(row?.summary ?? {})) {
          expect(Number.isFinite(summary.median), `${result.name} ${id} ${key}`).toBe(true);
        }
      }
    }
  });

  it('says so where a peer has no equivalent call instead of measuring something else', () => {
    const tryHit = report.results.find((result) => result.name === 'try-hit');
    for (const id of ['bottleneck', 'p-throttle']) {
      expect(tryHit?.rows.find((row) => row.id === id)?.skipped).toMatch(/no equivalent/);
    }
  });

  it('sees no FIFO violation from our buckets', () => {
    for (const name of ['queue-drain', 'backlog']) {
      const result = report.results.find((candidate) => candidate.name === name);
      for (const id of ['lazy', 'timer']) {
        expect(result?.rows.find((row) => row.id === id)?.summary?.violations?.max, `${name} ${id}`).toBe(0);
      }
    }
  });

  it('writes the timing chart as an SVG with one line per library', () => {
    const svg = readFileSync(svgFile, 'utf8');
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    const timing = report.results.find((result) => result.name === 'timing');
    const measured = timing?.rows.filter((row) => row.samples.length > 0).length ?? 0;
    expect(measured).toBeGreaterThanOrEqual(3);
    expect(svg.match(/<polyline /g)?.length).toBe(measured);
  });
});

// bench/instructions.mjs counts under valgrind, which CI does not install; its child is plain Node, so
// every row it would count runs here on small sizes, and a row answered on the wrong path fails.
describe('the instruction counter', () => {
  const rows = ['try-hit', 'try-miss', 'get-hit', 'backlog', 'enqueue'].flatMap((mode) =>
    ['lazy', 'timer', 'inline'].map((kind) => [kind, mode] as const),
  );

  it.each(rows)('runs the %s bucket in %s mode and checks what it was answered', (kind, mode) => {
    requireBuild();
    const result = spawnSync(process.execPath, ['bench/lib/instructionsChild.mjs', distDir, kind, mode, '2000'], {
      cwd: repoRoot,
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(result.status, result.stderr).toBe(0);
  });

  it('refuses an unknown mode and too few calls, naming the value', () => {
    for (const [args, message] of [
      [['--only', 'try-hot'], /unknown mode in --only: try-hot/],
      [['--calls', '10'], /--calls must be an integer >= 1000, received 10/],
    ] as const) {
      const result = spawnSync(process.execPath, ['bench/instructions.mjs', ...args], {
        cwd: repoRoot,
        encoding: 'utf8',
        timeout: 60_000,
      });
      expect(result.status).toBe(1);
      expect(result.stderr).toMatch(message);
    }
  });
});
