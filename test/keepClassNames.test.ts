import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { restoreClassNames } from '../scripts/keep-class-names.js';

/** Runs `code` (a script, no modules) and returns the value of its variable `result`. */
function run(code: string): unknown {
  return runInNewContext(`${code}; result`) as unknown;
}

describe('keep-class-names (the build step that undoes esbuild renaming self-referencing classes)', () => {
  it('names the class after its variable and renames its references inside the body', () => {
    const esbuilt = `
      var Shared = class _Shared {
        static from() { return new _Shared(); }
        clone() { return new _Shared(); }
      };
      var result = [Shared.name, Shared.from() instanceof Shared, Shared.from().clone().constructor.name];`;
    const restored = restoreClassNames(esbuilt, 'chunk.js');
    expect(run(esbuilt)).toEqual(['_Shared', true, '_Shared']);
    expect(run(restored)).toEqual(['Shared', true, 'Shared']);
    expect(restored).toContain('var Shared = class Shared {');
  });

  it('leaves property names alone, and classes that need no renaming', () => {
    const esbuilt = `
      var Plain = class { _Box = 1; };
      var Box = class _Box {
        _Box = 2;
        static _Box() { return { _Box: 3 }._Box; }
        make() { return new _Box()._Box + _Box._Box(); }
      };
      var result = [Plain.name, Box.name, new Box().make()];`;
    expect(run(restoreClassNames(esbuilt, 'chunk.js'))).toEqual(['Plain', 'Box', 5]);
  });

  it.each([
    ['its body already uses the outer name', 'var X = class _X { m() { const X = 1; return [X, _X]; } };'],
    ['the inner name is used outside the class', 'var X = class _X { m() { return _X; } }; var _X = 2;'],
    ['a shorthand property would change its key', 'var X = class _X { m() { return { _X }; } };'],
  ])('fails the build rather than guess when %s', (_, code) => {
    expect(() => restoreClassNames(code, 'chunk.js')).toThrow(/cannot name class _X X/);
  });
});
