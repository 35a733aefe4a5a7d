import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** The built package's entry points; tests that use them need `npm run build` first (`npm test` does it). */
export const distEsm = fileURLToPath(new URL('../../dist/index.js', import.meta.url));
export const distCjs = fileURLToPath(new URL('../../dist/index.cjs', import.meta.url));
export const distEsmUrl = pathToFileURL(distEsm).href;
export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

/** Throws a clear error when the package has not been built. */
export function requireBuild(): void {
  if (!existsSync(distEsm) || !existsSync(distCjs)) {
    throw new Error('dist/ is missing: run `npm run build` (or `npm test`, which builds first)');
  }
}
