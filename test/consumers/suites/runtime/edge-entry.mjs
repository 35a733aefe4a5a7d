// The Edge Runtime rows: bundled into a script that edge.mjs evaluates inside an EdgeVM. Reports each
// scenario through `__tbfReport(line)`, a function the host puts in the VM's context.
import { rowLine } from '../common/rows.mjs';
import { runScenarios } from './scenarios.mjs';

globalThis.__tbfDone = runScenarios((...row) => globalThis.__tbfReport(rowLine(...row)));
