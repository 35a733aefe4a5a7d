// The workerd rows: a Worker whose test() handler runs the runtime scenarios (`workerd test config.capnp`)
// and prints one TBF-ROW line per scenario. Bundled with esbuild by scripts/consumers.mjs, as wrangler would.
import { rowLine } from '../common/rows.mjs';
import { runScenarios } from './scenarios.mjs';

export default {
  async test() {
    const failed = [];
    await runScenarios((title, ok, error, ms) => {
      console.log(rowLine(title, ok, error, ms));
      if (!ok) failed.push(title);
    });
    if (failed.length > 0) throw new Error(`failed: ${failed.join(', ')}`);
  },
};
