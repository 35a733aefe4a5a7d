import type { Options } from 'tsup';
import ts from 'typescript';

type TsupPlugin = NonNullable<Options['plugins']>[number];

/**
 * keepClassNames is a tsup plugin that gives back their names to the classes esbuild renames.
 *
 * When it bundles, esbuild turns every top-level `class X {}` into `var X = class {}`, and a class
 * whose body refers to itself into `var X = class _X { … _X … }`: its `name` is then `"_X"`, and
 * `util.inspect()` and stack traces show that. esbuild's own remedy, `keepNames`, adds a
 * `__name(this, "X")` static block to every class and a call after every function, which bundlers
 * cannot tree-shake: a user importing only `LazyTokenBucketFilter` would ship every class (4.6 kB of
 * gzip became 6.8 kB). This plugin instead renames the inner binding back to `X`, which is exactly
 * equivalent (it is scoped to the class body and holds the same class as the outer `var X`).
 *
 * It refuses, and fails the build, when that could change what a name refers to: when the class body
 * already uses the name `X`, or `_X` is used outside the class. Runs on esbuild's ESM output, before
 * the tree-shaking step that renders CommonJS, so both formats get the names. No source maps.
 */
export function keepClassNames(): TsupPlugin {
  return {
    name: 'keep-class-names',
    renderChunk(code, chunk) {
      if (!/\.(c|m)?js$/.test(chunk.path)) return undefined;
      if (this.options.sourcemap) throw new Error('keep-class-names does not update source maps');
      return { code: restoreClassNames(code, chunk.path) };
    },
  };
}

/** Returns `code` with every `var X = class _X { … _X … }` at its top level rewritten to `class X`. */
export function restoreClassNames(code: string, fileName: string): string {
  const file = ts.createSourceFile(fileName, code, ts.ScriptTarget.Latest, true, ts.ScriptKind.JS);
  const edits: Array<{ start: number; end: number; text: string }> = [];
  for (const statement of file.statements) {
    if (!ts.isVariableStatement(statement)) continue;
    for (const declaration of statement.declarationList.declarations) {
      const { name, initializer } = declaration;
      if (!ts.isIdentifier(name) || initializer === undefined || !ts.isClassExpression(initializer)) continue;
      const inner = initializer.name?.text;
      const outer = name.text;
      if (inner === undefined || inner === outer) continue;
      const uses = identifiers(initializer);
      if (uses.some((use) => use.text === outer)) {
        throw new Error(`${fileName}: cannot name class ${inner} ${outer}: its body already uses ${outer}`);
      }
      const renamed = uses.filter((use) => use.text === inner);
      if (identifiers(file).filter((use) => use.text === inner).length !== renamed.length) {
        throw new Error(`${fileName}: cannot name class ${inner} ${outer}: ${inner} is used outside the class`);
      }
      if (renamed.some((use) => ts.isShorthandPropertyAssignment(use.parent))) {
        throw new Error(`${fileName}: cannot name class ${inner} ${outer}: { ${inner} } would change its key`);
      }
      for (const use of renamed) edits.push({ start: use.getStart(file), end: use.end, text: outer });
    }
  }
  let result = code;
  for (const { start, end, text } of edits.sort((a, b) => b.start - a.start)) {
    result = result.slice(0, start) + text + result.slice(end);
  }
  return result;
}

/**
 * Returns the identifiers under `root` that refer to a binding: not property names (`a.x`, `{ x: 1 }`,
 * `x() {}` in a class) nor labels. A shorthand property (`{ x }`) counts: it refers to `x`.
 */
function identifiers(root: ts.Node): ts.Identifier[] {
  const found: ts.Identifier[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isIdentifier(node) && isReference(node)) found.push(node);
    ts.forEachChild(node, visit);
  };
  visit(root);
  return found;
}

function isReference(node: ts.Identifier): boolean {
  const { parent } = node;
  if (ts.isPropertyAccessExpression(parent)) return parent.expression === node;
  if (ts.isLabeledStatement(parent) || ts.isBreakOrContinueStatement(parent)) return false;
  if (ts.isPropertyAssignment(parent) || ts.isClassElement(parent)) return parent.name !== node;
  return true;
}
