/**
 * V8 instructions per call on the hot paths of the in-process buckets, counted under
 * `valgrind --tool=callgrind`: `tryGetToken()` granted (try-hit) and refused (try-miss), and
 * `await getToken()` granted at once (get-hit, awaited one call at a time), on the lazy and timer
 * buckets and on the benchmark's inline reference (`lib/inline.mjs`).
 *
 *   node bench/instructions.mjs [--baseline <git rev>] [--calls n] [--only try-hit,get-hit,backlog]
 *
 * Each row runs a child (`lib/instructionsChild.mjs`) twice under callgrind with
 * `node --predictable` (V8's deterministic mode: no compiler or GC threads, and a heap sized by
 * allocation, not by how fast valgrind lets it fill), once with `n` calls and once with `5n`; the
 * difference divided by `4n` is the cost of one call in the steady state, start-up and compilation
 * cancelled out. A count repeats to about 0.05% and does not depend on how busy the machine is, so
 * unlike the timed scenarios of `run.mjs` it can resolve a change of 1–3% on a shared machine: this
 * is how a change to the hot path is checked against the README's figures. (With
 * `--single-threaded` alone, backlog and enqueue moved by up to 15% from run to run.)
 * `--baseline <rev>` also counts that revision, built with its own tsup config from `git archive`
 * (node_modules linked from here). An await alone costs about 625 instructions on Node 20, so get-hit
 * is that plus the library's share. backlog and enqueue (not run by default: `--only backlog,enqueue`)
 * are instructions per caller of 20,000 then 100,000 callers queued on an empty bucket, on
 * `@sinonjs/fake-timers`, after three uncounted backlogs: backlog is queueing, the grant when the
 * tokens all arrive, the promise and the caller's callback; enqueue the queueing alone. They run with
 * a young generation of 256 MB (`--min-semi-space-size`, `--max-semi-space-size`), so that no garbage
 * collection happens in either run: otherwise a collection more or less (a step of about 2,500
 * instructions a caller, falling where a few bytes more or less put it) outweighs the code's own cost
 * of about 2,000. The garbage's cost is in `run.mjs`'s queue-drain (time, and heap per caller).

 * A bench tool, not a test: it needs valgrind (`apt-get install valgrind`) and the built package
 * (dist/, or $TBF_DIST_DIR); CI does not run it. The two runs of a row go side by side; with
 * `--baseline`, the 15 rows of the default modes take about 10 minutes on 2 cores.
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '..');
const child = join(here, 'lib', 'instructionsChild.mjs');

const args = process.argv.slice(2);
const value = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
};
const calls = Number(value('--calls', 500_000));
/** The modes counted per queued caller rather than per call. */
const QUEUED = new Set(['backlog', 'enqueue']);
/** V8 flags for the queued modes: a young generation no run of them fills, so no collection is counted. */
const NO_GC = ['--min-semi-space-size=256', '--max-semi-space-size=256'];
/** Callers of the backlog's smaller run (the larger has 5×: 100,000 by default, as in run.mjs's backlog). */
const backlogCallers = Math.max(1000, Math.round(calls / 25));
const baseline = value('--baseline', undefined);
const modes = (value('--only', 'try-hit,try-miss,get-hit') ?? '').split(',');
if (!Number.isInteger(calls) || calls < 1000)
  throw new RangeError(`--calls must be an integer >= 1000, received ${calls}`);
for (const mode of modes) {
  if (!['try-hit', 'try-miss', 'get-hit', ...QUEUED].includes(mode)) {
    throw new RangeError(`unknown mode in --only: ${mode}`);
  }
}

try {
  execFileSync('valgrind', ['--version'], { stdio: 'ignore' });
} catch {
  throw new Error('valgrind is not on the PATH (apt-get install valgrind)');
}

const currentDist = process.env.TBF_DIST_DIR ?? join(repo, 'dist');
if (!existsSync(join(currentDist, 'index.js'))) {
  throw new Error(`${currentDist}/index.js is missing: build the package first (npx tsup), or set TBF_DIST_DIR`);
}

/** Builds revision `rev` in a temporary folder with its own tsup config; returns its dist/ and a cleanup. */
function buildRevision(rev) {
  const dir = mkdtempSync(join(tmpdir(), 'tbf-instructions-'));
  const tar = execFileSync('git', ['archive', '--format=tar', rev], { cwd: repo, maxBuffer: 1 << 30 });
  execFileSync('tar', ['-x', '-C', dir], { input: tar });
  symlinkSync(join(repo, 'node_modules'), join(dir, 'node_modules'));
  execFileSync(join(repo, 'node_modules', '.bin', 'tsup'), ['--silent'], { cwd: dir, stdio: 'ignore' });
  return { dist: join(dir, 'dist'), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Total instructions callgrind counted for one child run. */
async function totalInstructions(dist, kind, mode, n) {
  const { stderr } = await run(
    'valgrind',
    [
      '--tool=callgrind',
      '--smc-check=all-non-file',
      '--callgrind-out-file=/dev/null',
      process.execPath,
      '--predictable',
      ...(QUEUED.has(mode) ? NO_GC : []),
      child,
      dist,
      kind,
      mode,
      String(n),
    ],
    { maxBuffer: 1 << 26 },
  );
  const refs = /refs:\s+([\d,]+)/.exec(stderr)?.[1];
  if (refs === undefined) throw new Error(`no instruction count in callgrind's output:\n${stderr}`);
  return Number(refs.replaceAll(',', ''));
}

/** Steady-state instructions per call (per caller, for the backlog) of one row. */
async function perCall(dist, kind, mode) {
  const n = QUEUED.has(mode) ? backlogCallers : calls;
  const [few, many] = await Promise.all([
    totalInstructions(dist, kind, mode, n),
    totalInstructions(dist, kind, mode, 5 * n),
  ]);
  return Math.round((many - few) / (4 * n));
}

const built = baseline === undefined ? undefined : buildRevision(baseline);
try {
  const builds = [{ name: 'this build', dist: currentDist }];
  if (built !== undefined) builds.push({ name: baseline, dist: built.dist });
  const rows = [];
  for (const mode of modes) {
    const reference = await perCall(currentDist, 'inline', mode);
    for (const kind of ['lazy', 'timer']) {
      const counts = [];
      for (const build of builds) counts.push(await perCall(build.dist, kind, mode));
      rows.push({ mode, kind, counts, reference });
    }
  }
  const head = ['| | ' + builds.map((b) => b.name).join(' | ') + ' | inline reference |'];
  head.push('| --- |' + builds.map(() => ' --- |').join('') + ' --- |');
  for (const { mode, kind, counts, reference } of rows) {
    const cells = counts.map((count, i) => {
      if (i === 0) return String(count);
      const change = ((counts[0] - count) / count) * 100;
      return `${count} (this build ${change >= 0 ? '+' : ''}${change.toFixed(1)}%)`;
    });
    head.push(`| ${mode}, ${kind} | ${cells.join(' | ')} | ${reference} |`);
  }
  const queuedSizes = modes.some((mode) => QUEUED.has(mode))
    ? `; backlog and enqueue: per caller, ${backlogCallers} vs ${5 * backlogCallers} callers, 256 MB semi-space, no GC`
    : '';
  console.log(
    `V8 instructions per call (callgrind, node ${process.version} --predictable, ${calls} vs ${5 * calls} calls${queuedSizes})\n`,
  );
  console.log(head.join('\n'));
} finally {
  built?.cleanup();
}
