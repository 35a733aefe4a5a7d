/**
 * Starts `n` callers that each `await library.take(bucket)`, the way application code waits, and
 * records the order and time of their grants.
 *
 * Returns at once with `{ done, stats }`: `done` resolves when every caller was granted; `stats` then
 * holds `first` and `last` (performance.now() at the first and last grant, as the caller saw it) and
 * `violations`, the FIFO violations: grants whose caller index is lower than one already granted.
 * No per-caller array is kept, so the heap holds only what the library and the callers need.
 * `deadlineMs`, when given, bounds the wait: `done` then rejects with an error saying how many of the n
 * callers were granted in time (some peers drain a few hundred callers a second).
 */
export function startCallers(library, bucket, n, deadlineMs = Number.POSITIVE_INFINITY) {
  const stats = { first: Number.NaN, last: Number.NaN, violations: 0, granted: 0 };
  let highest = -1;
  let finish;
  let deadline;
  const done = new Promise((resolve, reject) => {
    finish = resolve;
    if (Number.isFinite(deadlineMs)) {
      deadline = setTimeout(() => {
        reject(
          new Error(
            `granted ${stats.granted.toLocaleString('en-US')} of ${n.toLocaleString('en-US')} callers in ${deadlineMs / 1000} s`,
          ),
        );
      }, deadlineMs);
    }
  }).finally(() => clearTimeout(deadline));
  const caller = async (index) => {
    await library.take(bucket);
    stats.last = performance.now();
    if (stats.granted === 0) stats.first = stats.last;
    if (index < highest) stats.violations++;
    else highest = index;
    if (++stats.granted === n) finish();
  };
  for (let index = 0; index < n; index++) caller(index);
  return { done, stats };
}
