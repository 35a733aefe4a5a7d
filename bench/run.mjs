#!/usr/bin/env node
/**
 * The benchmark runner: node --expose-gc bench/run.mjs [scenario ...] [options]
 *
 * Runs the named scenarios (all by default) against every library, interleaved in rounds, and prints
 * one Markdown table per scenario: median (min – max) of the rounds and the ratio of each median to
 * the inline reference bucket's. See bench/README.md.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { measureInChild } from './lib/child.mjs';
import { formatRatio, formatSummary, formatValue, markdownTable } from './lib/format.mjs';
import { libraries } from './lib/libraries.mjs';
import { median, summarize } from './lib/stats.mjs';
import { timingChart } from './lib/svg.mjs';
import { scenarios } from './scenarios/index.mjs';

const benchDir = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(benchDir, '..');
const DEFAULT_SVG = resolve(repoRoot, 'docs/timing.svg');
const CHILD_TIMEOUT_MS = 300_000;

const USAGE = `Usage: npm run bench -- [scenario ...] [options]
       node --expose-gc bench/run.mjs [scenario ...] [options]

Scenarios (all when none is named): ${scenarios.map((s) => s.name).join(', ')}

Options:
  --quick             tiny sizes and one or two rounds (seconds, for the smoke test); numbers mean little
  --rounds <n>        rounds per scenario (default: each scenario's own)
  --libraries <ids>   comma-separated library ids to run besides the reference
                      (${libraries.map((l) => l.id).join(', ')})
  --json <file>       write every sample and summary as JSON
  --svg [file]        write the timing chart (default docs/timing.svg); runs the timing scenario
  --no-install        do not install bench/ dependencies when they are missing
  --help              this text`;

function parseArgs(argv) {
  const options = {
    names: [],
    quick: false,
    rounds: undefined,
    libraries: undefined,
    json: undefined,
    svg: undefined,
    install: true,
  };
  const scenarioNames = new Set(scenarios.map((s) => s.name));
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      const next = argv[++i];
      if (next === undefined || next.startsWith('--')) throw new Error(`${arg} needs a value`);
      return next;
    };
    if (arg === '--help' || arg === '-h') options.help = true;
    else if (arg === '--quick') options.quick = true;
    else if (arg === '--no-install') options.install = false;
    else if (arg === '--rounds') {
      options.rounds = Number(value());
      if (!Number.isInteger(options.rounds) || options.rounds < 1)
        throw new Error(`--rounds must be a positive integer, received ${argv[i]}`);
    } else if (arg === '--libraries') options.libraries = value().split(',').filter(Boolean);
    else if (arg === '--json') options.json = resolve(value());
    else if (arg === '--svg') {
      const next = argv[i + 1];
      options.svg =
        next !== undefined && !next.startsWith('--') && !scenarioNames.has(next) ? resolve(argv[++i]) : DEFAULT_SVG;
    } else if (arg.startsWith('--')) throw new Error(`Unknown option ${arg}\n\n${USAGE}`);
    else if (scenarioNames.has(arg)) options.names.push(arg);
    else throw new Error(`Unknown scenario ${JSON.stringify(arg)}; known: ${[...scenarioNames].join(', ')}`);
  }
  if (options.libraries !== undefined) {
    const known = new Set(libraries.map((l) => l.id));
    const unknown = options.libraries.filter((id) => !known.has(id));
    if (unknown.length > 0) throw new Error(`Unknown libraries ${unknown.join(', ')}; known: ${[...known].join(', ')}`);
  }
  if (options.svg !== undefined && options.names.length > 0 && !options.names.includes('timing'))
    options.names.push('timing');
  return options;
}

/** Installs bench/'s own dependencies (the peers) from its lock file when any is missing. */
function ensureDependencies(install) {
  const { dependencies } = JSON.parse(readFileSync(resolve(benchDir, 'package.json'), 'utf8'));
  const missing = Object.keys(dependencies).filter(
    (name) => !existsSync(resolve(benchDir, 'node_modules', name, 'package.json')),
  );
  if (missing.length === 0) return;
  if (!install) throw new Error(`bench/ dependencies missing (${missing.join(', ')}): run npm ci --prefix bench`);
  log(`Installing the benchmark's own dependencies in bench/ (${missing.join(', ')}) ...`);
  const result = spawnSync('npm', ['ci', '--no-audit', '--no-fund', '--loglevel=error'], {
    cwd: benchDir,
    stdio: ['ignore', process.stderr, process.stderr],
    shell: process.platform === 'win32',
  });
  if (result.status !== 0)
    throw new Error(`npm ci in bench/ failed (${result.error?.message ?? `exit ${result.status}`})`);
}

function log(message) {
  process.stderr.write(`${message}\n`);
}

/** The libraries of a round, rotated so that no library always runs first or last. */
function rotate(list, round) {
  const shift = round % list.length;
  return [...list.slice(shift), ...list.slice(0, shift)];
}

async function runScenario(scenario, selected, options) {
  const params = { ...(options.quick ? scenario.params.quick : scenario.params.full) };
  if (options.rounds !== undefined) params.rounds = options.rounds;
  const rows = selected.map((library) => ({
    id: library.id,
    label: library.label,
    role: library.role,
    api: scenario.name.startsWith('try') ? library.tryApi : library.waitApi,
    config: library.config,
    skipped: scenario.skip?.(library),
    error: undefined,
    samples: [],
  }));
  const runnable = rows.filter((row) => row.skipped === undefined);
  const byId = new Map(selected.map((library) => [library.id, library]));
  const inProcess = scenario.isolation !== 'child';
  log(`\n${scenario.title} — ${params.rounds} round(s)${inProcess ? '' : ', a fresh process per library and round'}`);

  const measureOnce = async (row) => {
    const library = byId.get(row.id);
    return inProcess
      ? await scenario.measure(library, params)
      : await measureInChild(scenario.name, row.id, params, params.timeoutMs ?? CHILD_TIMEOUT_MS);
  };
  if (inProcess) for (const row of runnable) await byId.get(row.id).load();
  if (inProcess && scenario.warmup) {
    for (const row of runnable) {
      try {
        await measureOnce(row);
      } catch (error) {
        row.error = error.message;
      }
    }
  }
  for (let round = 0; round < params.rounds; round++) {
    for (const row of rotate(runnable, round)) {
      if (row.error !== undefined) continue;
      const started = performance.now();
      try {
        row.samples.push(await measureOnce(row));
      } catch (error) {
        row.error = error.message;
      }
      log(
        `  round ${round + 1} ${row.id}: ${row.error ?? 'done'} (${((performance.now() - started) / 1000).toFixed(1)} s)`,
      );
    }
  }

  for (const row of rows) {
    if (row.samples.length === 0) continue;
    row.summary = {};
    for (const column of scenario.columns)
      row.summary[column.key] = summarize(row.samples.map((sample) => sample[column.key]));
  }
  const reference = rows.find((row) => row.role === 'reference');
  for (const row of rows) {
    if (row.summary === undefined) continue;
    row.ratio = {};
    for (const column of scenario.columns) {
      if (column.ratio && reference?.summary !== undefined) {
        row.ratio[column.key] = row.summary[column.key].median / reference.summary[column.key].median;
      }
    }
  }
  for (const row of rows) {
    // Targets are judged on full sizes only: --quick numbers are dominated by timer granularity.
    if (row.role !== 'ours' || row.summary === undefined || options.quick) continue;
    row.targets = (scenario.targets ?? []).map((target) => ({
      text: target.text,
      met: Boolean(target.check(row, rows)),
    }));
  }
  return {
    name: scenario.name,
    title: scenario.title,
    description: scenario.description,
    params,
    columns: scenario.columns,
    rows,
  };
}

function renderTable(result) {
  const header = ['library', 'call'];
  for (const column of result.columns) {
    header.push(`${column.label}${column.unit && column.unit !== 'count' ? ` (${column.unit})` : ''}`);
    if (column.ratio) header.push('× ref');
  }
  header.push('targets');
  const body = result.rows.map((row) => {
    const cells = [row.label, row.api ?? '–'];
    if (row.summary === undefined) {
      const why = row.skipped ?? `failed: ${row.error}`;
      for (const column of result.columns)
        cells.push(column === result.columns[0] ? why : '', ...(column.ratio ? [''] : []));
    } else {
      for (const column of result.columns) {
        cells.push(formatSummary(row.summary[column.key], column.unit));
        if (column.ratio) cells.push(formatRatio(row.ratio[column.key]));
      }
    }
    cells.push(
      row.targets === undefined ? '' : row.targets.map((t) => `${t.met ? 'met' : 'MISSED'}: ${t.text}`).join('; '),
    );
    return cells;
  });
  const notes = [
    `Medians of ${result.params.rounds} round(s), (min – max) across rounds; × ref = median ÷ the inline reference's median.`,
  ];
  for (const row of result.rows)
    if (row.error !== undefined && row.summary !== undefined)
      notes.push(`${row.label}: later rounds failed: ${row.error}`);
  return `### ${result.title}\n\n${result.description}\n\n${markdownTable(header, body)}\n\n${notes.join('\n')}\n`;
}

/**
 * One table for the README: a row per headline figure of each scenario (its `summary` keys, or its
 * `headline`), a column per library. Ratio columns show the ratio to the reference (the reference's
 * own cell shows its value); the others show the median with its unit.
 */
function renderSummary(results) {
  const ids = [...new Set(results.flatMap((result) => result.rows.map((row) => row.id)))];
  const labels = ids.map((id) => results.flatMap((result) => result.rows).find((row) => row.id === id).label);
  const body = [];
  for (const result of results) {
    const scenario = scenarios.find((candidate) => candidate.name === result.name);
    for (const key of scenario.summary ?? [scenario.headline ?? result.columns[0].key]) {
      const column = result.columns.find((candidate) => candidate.key === key);
      const unit = column.unit === 'count' ? '' : ` (${column.unit})`;
      const cells = [`${result.name}: ${column.label}${column.ratio ? ', × ref' : unit}`];
      for (const id of ids) {
        const row = result.rows.find((candidate) => candidate.id === id);
        if (row === undefined) cells.push('');
        else if (row.summary === undefined) cells.push(row.skipped !== undefined ? 'no equivalent' : 'did not finish');
        else if (!column.ratio) cells.push(formatValue(row.summary[key].median, column.unit));
        else if (row.role === 'reference')
          cells.push(`${formatValue(row.summary[key].median, column.unit)} ${column.unit}`);
        else cells.push(formatRatio(row.ratio[key]));
      }
      body.push(cells);
    }
  }
  return `### Summary (medians)\n\n${markdownTable(['', ...labels], body)}\n`;
}

function writeChart(result, file) {
  const series = result.rows
    .filter((row) => row.samples.length > 0)
    .map((row) => {
      // The round whose final drift is the median one stands for the library.
      const drift = median(row.samples.map((sample) => sample.drift));
      const sample = row.samples.reduce((best, candidate) =>
        Math.abs(candidate.drift - drift) < Math.abs(best.drift - drift) ? candidate : best,
      );
      return { id: row.id, label: row.label, role: row.role, values: sample.lateness };
    });
  const svg = timingChart({
    title: 'Lateness of each grant: capacity 1, 100 tokens/s, 200 sequential awaits',
    subtitle: `The round with the median final drift per library · Node ${process.version} · ${new Date().toISOString().slice(0, 10)}`,
    series,
  });
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, svg);
  log(`Wrote ${file}`);
}

async function main() {
  const options = parseArgs(process.argv.slice(2));
  if (options.help) {
    console.log(USAGE);
    return;
  }
  ensureDependencies(options.install);
  if (typeof globalThis.gc !== 'function')
    log('Note: node was started without --expose-gc; in-process scenarios cannot force a GC.');
  const chosen = options.names.length === 0 ? scenarios : scenarios.filter((s) => options.names.includes(s.name));
  const selected = libraries.filter(
    (l) => l.role === 'reference' || options.libraries === undefined || options.libraries.includes(l.id),
  );
  const environment = {
    date: new Date().toISOString(),
    node: process.version,
    platform: `${os.platform()} ${os.arch()}`,
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.availableParallelism?.() ?? os.cpus().length,
    loadAverage: os.loadavg()[0],
    quick: options.quick,
  };
  console.log(
    `## Benchmark: ${environment.date.slice(0, 16).replace('T', ' ')} UTC, Node ${environment.node}, ${environment.platform}, ${environment.cores} cores (${environment.cpu}), load average ${environment.loadAverage.toFixed(2)} at start${options.quick ? ', --quick sizes' : ''}\n`,
  );
  if (environment.loadAverage > 0.5 * environment.cores) {
    log(
      `Note: the load average is ${environment.loadAverage.toFixed(2)} on ${environment.cores} cores: other processes compete, and real-time scenarios (timing, backlog) will show their stalls.`,
    );
  }
  const results = [];
  for (const scenario of chosen) {
    const result = await runScenario(scenario, selected, options);
    results.push(result);
    console.log(renderTable(result));
  }
  if (results.length > 1) console.log(renderSummary(results));
  for (const result of results) {
    for (const row of result.rows) {
      for (const target of row.targets ?? []) if (!target.met) log(`MISSED ${result.name} ${row.id}: ${target.text}`);
    }
  }
  if (options.json !== undefined) {
    mkdirSync(dirname(options.json), { recursive: true });
    writeFileSync(options.json, `${JSON.stringify({ environment, results }, null, 2)}\n`);
    log(`Wrote ${options.json}`);
  }
  if (options.svg !== undefined) {
    const timing = results.find((result) => result.name === 'timing');
    if (timing !== undefined) writeChart(timing, options.svg);
  }
}

main().catch((error) => {
  log(error instanceof Error ? error.message : String(error));
  process.exitCode = 1;
});
