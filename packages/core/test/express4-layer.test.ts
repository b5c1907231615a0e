// express4LayerTemplate: reading mount templates back from layers compiled by Express 4 itself.
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { express4LayerTemplate } from '@vigil/core';

interface Express4Layer {
  regexp: RegExp;
  keys: { name: string | number }[];
}
type LayerPath = string | RegExp | string[];

// The real Layer of Express 4 (installed under the npm alias `express4`), compiled as app.use() does.
const requireCjs = createRequire(__filename);
const Layer = requireCjs('express4/lib/router/layer') as new (
  path: LayerPath,
  options: { end: boolean; strict: boolean; sensitive: boolean },
  fn: () => void,
) => Express4Layer;

function compile(path: LayerPath, sensitive = false): Express4Layer {
  return new Layer(path, { end: false, strict: false, sensitive }, () => undefined);
}

/** Marks a row whose expected value is the documented fallback, String(regexp). */
const FALLBACK = Symbol('String(regexp)');

describe('express4LayerTemplate', () => {
  it.each<[string, LayerPath, string | typeof FALLBACK]>([
    ['a parameter', '/users/:id', '/users/:id'],
    ['a literal path', '/api', '/api'],
    ['a nested literal path', '/api/v1/users', '/api/v1/users'],
    ['two parameters, the last optional', '/a/:b/c/:d?', '/a/:b/c/:d?'],
    ['a parameter between literals', '/api/users/:uid/posts', '/api/users/:uid/posts'],
    ['a trailing wildcard', '/files/*', '/files/*'],
    ['a bare wildcard', '*', '*'],
    ['a wildcard then a parameter', '/files/*/:id', '/files/*/:id'],
    // The inline constraint is not part of the template: the parameter name is what identifies it.
    ['a parameter with an inline constraint', '/x/:id(\\d+)', '/x/:id'],
    ['the root path', '/', ''],
    ['an escaped dot', '/a.b', '/a.b'],
    ['a trailing slash', '/users/:id/', '/users/:id'],
    ['a literal with a hyphen', '/well-known', '/well-known'],
    ['a parameter glued to a literal', '/w-:v', FALLBACK],
    ['a parameter after a dot', '/:a.:b', FALLBACK],
    ['an unnamed group', '/x/(\\d+)', FALLBACK],
    ['a path with a regex quantifier', '/a+b', FALLBACK],
    ['an array of paths', ['/a', '/b'], FALLBACK],
    ['a RegExp', /^\/re\/(\d+)/, FALLBACK],
    ['a RegExp without anchors', /admin/, FALLBACK],
  ])('should read back %s (%s)', (_label, path, expected) => {
    const layer = compile(path);

    const template = express4LayerTemplate(layer.regexp, layer.keys);

    expect(template).toBe(expected === FALLBACK ? String(layer.regexp) : expected);
  });

  it('should read a case-sensitive mount the same way', () => {
    const layer = compile('/Users/:id', true);

    expect(layer.regexp.flags).not.toContain('i');
    expect(express4LayerTemplate(layer.regexp, layer.keys)).toBe('/Users/:id');
  });

  it('should give String(regexp) when the keys do not name every parameter', () => {
    const layer = compile('/users/:id/posts/:postId');

    expect(express4LayerTemplate(layer.regexp, [])).toBe(String(layer.regexp));
    expect(express4LayerTemplate(layer.regexp, [{ name: 'id' }])).toBe(String(layer.regexp));
    expect(express4LayerTemplate(layer.regexp, [{ name: 0 }, { name: 1 }])).toBe(
      String(layer.regexp),
    );
  });

  it.each([
    /^\/users(?:\/([^/]+?))/,
    /\/users\/?(?=\/|$)/,
    /^\/users(?:\/([(]+?))\/?(?=\/|$)/,
    /^\/?(?=\/|$)/i,
  ])('should not throw on the hand-written RegExp %s', (regexp) => {
    expect(() => express4LayerTemplate(regexp, [{ name: 'id' }])).not.toThrow();
    expect(typeof express4LayerTemplate(regexp, [{ name: 'id' }])).toBe('string');
  });
});
