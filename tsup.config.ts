import { defineConfig } from 'tsup';

export default defineConfig({
  // One entry per subpath export; splitting makes them share one copy of the core (and of the error
  // classes, so `instanceof` works across entries) in ESM and CJS alike.
  entry: { index: 'src/index.ts', shared: 'src/shared/index.ts', redis: 'src/redis/index.ts' },
  format: ['esm', 'cjs'],
  dts: true,
  splitting: true,
  clean: true,
  target: 'es2022',
});
