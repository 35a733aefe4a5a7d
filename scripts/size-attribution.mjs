// Size attribution: where the gzip bytes of one import go, per source module. Bundles the import from
// src/ as scripts/check-size.mjs bundles it from dist/ (esbuild, minified, tree-shaken, es2022), then,
// for each module, prints its minified bytes and its marginal gzip bytes: the gzip size of the whole
// bundle minus the gzip size of the bundle without that module's output (found through the source
// map). Marginal bytes overlap (gzip shares text across modules), so they sum to less than the total.
// Usage: `node scripts/size-attribution.mjs [export name]` (default LazyTokenBucketFilter). No build needed.
import { buildSync } from 'esbuild';
import { gzipSync } from 'node:zlib';

const name = process.argv[2] ?? 'LazyTokenBucketFilter';
const { outputFiles } = buildSync({
  stdin: { contents: `export { ${name} } from './src/index.ts';`, resolveDir: process.cwd(), loader: 'ts' },
  bundle: true,
  minify: true,
  format: 'esm',
  platform: 'neutral',
  target: 'es2022',
  sourcemap: 'external',
  outfile: 'attribution.js',
  write: false,
});
const code = outputFiles.find((file) => file.path.endsWith('.js')).text;
const map = JSON.parse(outputFiles.find((file) => file.path.endsWith('.map')).text);

const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
/** Decodes one source-map segment (base64 VLQ) into its numbers. */
function decodeSegment(text) {
  const values = [];
  let value = 0;
  let shift = 0;
  for (const char of text) {
    const digit = BASE64.indexOf(char);
    value += (digit & 31) << shift;
    if (digit & 32) {
      shift += 5;
    } else {
      values.push(value & 1 ? -(value >>> 1) : value >>> 1);
      value = 0;
      shift = 0;
    }
  }
  return values;
}

// owner[i]: the index of the source that output character i comes from (-1: none).
const owner = new Int32Array(code.length).fill(-1);
let lineStart = 0;
let source = 0;
const lines = code.split('\n');
map.mappings.split(';').forEach((mappings, line) => {
  let column = 0;
  const segments = mappings === '' ? [] : mappings.split(',').map(decodeSegment);
  const starts = segments.map((segment) => (column += segment[0]));
  segments.forEach((segment, i) => {
    if (segment.length < 2) return;
    source += segment[1];
    const end = i + 1 < segments.length ? starts[i + 1] : lines[line].length;
    owner.fill(source, lineStart + starts[i], lineStart + end);
  });
  lineStart += lines[line].length + 1;
});

const gzip = (text) => gzipSync(text, { level: 9 }).length;
const total = gzip(code);
const rows = map.sources
  .map((path, index) => {
    let kept = '';
    let bytes = 0;
    for (let i = 0; i < code.length; i += 1) {
      if (owner[i] === index) bytes += 1;
      else kept += code[i];
    }
    return { module: path.replace(/^.*?\bsrc\//, 'src/'), bytes, gzip: total - gzip(kept) };
  })
  .filter((row) => row.bytes > 0)
  .sort((a, b) => b.gzip - a.gzip);

console.log(`${name}: ${code.length} B minified, ${total} B gzip`);
console.log('  min B  gzip B  module');
for (const row of rows) {
  console.log(`${String(row.bytes).padStart(7)} ${String(row.gzip).padStart(7)}  ${row.module}`);
}
console.log(`${rows.reduce((sum, row) => sum + row.gzip, 0)} B gzip attributed in all (the rest is shared)`);
