// The line protocol by which suites that have no JSON reporter of their own (node:test, bun:test via
// wrappers, the runtime scripts) report one row each to scripts/consumers.mjs: a line
// `TBF-ROW {"title":…,"ok":…,"error":…,"ms":…}` on standard output.

/** The prefix of every row line. */
export const ROW_PREFIX = 'TBF-ROW ';

/** rowLine returns the line that reports one row: `error` is the failure's first line, or null. */
export function rowLine(title, ok, error, ms) {
  const firstLine = error === null ? null : String(error?.message ?? error).split('\n')[0];
  return `${ROW_PREFIX}${JSON.stringify({ title, ok, error: firstLine, ms: Math.round(ms) })}`;
}
