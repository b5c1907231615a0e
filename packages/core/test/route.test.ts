// pathToTemplate and joinTemplates: how registered paths become labels and how mount prefixes join.
import { describe, expect, it } from 'vitest';
import { joinTemplates, pathToTemplate } from '@vigil/core';

describe('pathToTemplate', () => {
  it.each<[string, unknown, string]>([
    ['a string', '/users/:id', '/users/:id'],
    ['a RegExp', /^\/re\/\d+$/i, '/^\\/re\\/\\d+$/i'],
    ['an array', ['/a', '/b'], '/a,/b'],
    ['a nested array', ['/a', ['/b', /c/]], '/a,/b,/c/'],
    ['undefined', undefined, ''],
    ['a number', 5, ''],
    ['an object', { path: '/x' }, ''],
  ])('should render %s', (_label, path, expected) => {
    expect(pathToTemplate(path)).toBe(expected);
  });
});

describe('joinTemplates', () => {
  it.each([
    ['', '', '/'],
    ['', '/', '/'],
    ['/', '', '/'],
    ['', '/users', '/users'],
    ['/', '/users', '/users'],
    ['/api', '', '/api'],
    ['/api', '/', '/api'],
    ['/api', '/users', '/api/users'],
    ['/api/', '/users', '/api/users'],
    ['/api/:v', '/users/:id', '/api/:v/users/:id'],
    ['/api', 'users', '/api/users'],
    ['/api/', 'users', '/api/users'],
    ['/api', '/^\\/re$/', '/api/^\\/re$/'],
  ])('should join %j and %j as %j', (prefix, child, expected) => {
    expect(joinTemplates(prefix, child)).toBe(expected);
  });
});
