// A node:test reporter (`node --test --test-reporter=./suite/common/node-test-reporter.mjs`) that
// prints one TBF-ROW line per test, and the failure's stack to standard error.
import { rowLine } from './rows.mjs';

export default async function* reporter(source) {
  for await (const event of source) {
    if (event.type !== 'test:pass' && event.type !== 'test:fail') continue;
    const { name, details } = event.data;
    if (details.type === 'suite') continue;
    if (event.type === 'test:pass') {
      yield `${rowLine(name, true, null, details.duration_ms)}\n`;
      continue;
    }
    // node:test wraps what the test threw in an ERR_TEST_FAILURE whose cause is the original error.
    const error = details.error?.cause ?? details.error;
    process.stderr.write(`${name}: ${error?.stack ?? String(error)}\n`);
    yield `${rowLine(name, false, error ?? 'failed', details.duration_ms)}\n`;
  }
}
