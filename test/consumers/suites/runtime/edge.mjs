// The Edge Runtime rows' runner (run by Node): bundles edge-entry.mjs with esbuild, as a user's build
// would for an edge function, and evaluates it in an EdgeVM, the sandbox of Vercel's Edge Runtime.
import { EdgeVM } from '@edge-runtime/vm';
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';

const bundle = await build({
  entryPoints: [fileURLToPath(new URL('./edge-entry.mjs', import.meta.url))],
  bundle: true,
  format: 'iife',
  platform: 'neutral',
  conditions: ['edge-light', 'worker', 'browser'],
  write: false,
  logLevel: 'warning',
});
const vm = new EdgeVM({
  extend: (context) => Object.assign(context, { __tbfReport: (line) => console.log(line) }),
});
vm.evaluate(bundle.outputFiles[0].text);
await vm.evaluate('__tbfDone');
