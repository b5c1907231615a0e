// normalizeMethod and methodIndex: the standard methods keep their name, everything else is OTHER.
import { describe, expect, it } from 'vitest';
import {
  METHOD_LABELS,
  OTHER_METHOD,
  STANDARD_METHODS,
  methodIndex,
  normalizeMethod,
} from '@vigil/core';

describe('normalizeMethod', () => {
  it.each(STANDARD_METHODS.map((method) => [method]))(
    'should keep the standard method %s',
    (method) => {
      expect(normalizeMethod(method)).toBe(method);
    },
  );

  it.each([
    ['a WebDAV method', 'PROPFIND'],
    ['a lower-case standard method', 'get'],
    ['a mixed-case standard method', 'Post'],
    ['the empty string', ''],
    ['undefined', undefined],
    ['a method with spaces', ' GET '],
    ['a name on Object.prototype', 'constructor'],
    ['__proto__', '__proto__'],
    ['a long made-up method', 'X'.repeat(10_000)],
  ])('should give OTHER for %s', (_label, method) => {
    expect(normalizeMethod(method)).toBe(OTHER_METHOD);
  });

  it('should name the shared value OTHER', () => {
    expect(OTHER_METHOD).toBe('OTHER');
  });
});

describe('methodIndex', () => {
  it.each(STANDARD_METHODS.map((method, index) => [method, index]))(
    'should give %s the index %i',
    (method, index) => {
      expect(methodIndex(method)).toBe(index);
      expect(METHOD_LABELS[index]).toBe(method);
    },
  );

  it.each([['PROPFIND'], ['get'], [''], [undefined], ['toString']])(
    'should give %s the OTHER index',
    (method) => {
      expect(methodIndex(method)).toBe(STANDARD_METHODS.length);
      expect(METHOD_LABELS[methodIndex(method)]).toBe(OTHER_METHOD);
    },
  );

  it('should keep METHOD_LABELS frozen, the standard methods followed by OTHER', () => {
    expect(METHOD_LABELS).toEqual([...STANDARD_METHODS, OTHER_METHOD]);
    expect(Object.isFrozen(METHOD_LABELS)).toBe(true);
  });
});
