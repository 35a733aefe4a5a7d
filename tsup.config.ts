import { defineConfig } from 'tsup';
import { keepClassNames } from './scripts/keep-class-names.js';

export default defineConfig({
  // One entry per subpath export; splitting makes them share one copy of the core (and of the error
  // classes, so `instanceof` works across entries) in ESM and CJS alike.
  entry: { index: 'src/index.ts', shared: 'src/shared/index.ts', redis: 'src/redis/index.ts' },
  format: ['esm', 'cjs'],
  dts: true,
  splitting: true,
  // Rollup, not sucrase, turns the split ESM chunks into CommonJS: tsup's sucrase step also lowers
  // class fields, `?.` and `??` whatever the target, and renames every class with a field `_class`.
  treeshake: true,
  plugins: [keepClassNames()],
  clean: true,
  target: 'es2022',
});
