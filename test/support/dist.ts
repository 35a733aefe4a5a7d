import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

/**
 * The folder of the built package: `dist/`, or `$TBF_DIST_DIR` when set (so that parallel work can
 * build into a folder of its own). Tests that use it need `npm run build` first (`npm test` does it).
 */
export const distDir = process.env.TBF_DIST_DIR ?? fileURLToPath(new URL('../../dist', import.meta.url));
export const distEsm = `${distDir}/index.js`;
export const distCjs = `${distDir}/index.cjs`;
export const distEsmUrl = pathToFileURL(distEsm).href;
export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

/** Throws a clear error when the package has not been built. */
export function requireBuild(): void {
  if (!existsSync(distEsm) || !existsSync(distCjs)) {
    throw new Error('dist/ is missing: run `npm run build` (or `npm test`, which builds first)');
  }
}
