// The workspace's lists agree with packages/: the root tsconfig's project references (which `tsc -b`
// builds), each package's references to what it depends on, and the test projects.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(__dirname, '..');
const readJson = (path: string): Record<string, unknown> =>
  JSON.parse(readFileSync(join(root, path), 'utf8')) as Record<string, unknown>;

const packages = readdirSync(join(root, 'packages'))
  .filter((dir) => existsSync(join(root, 'packages', dir, 'package.json')))
  .sort();
const examples = readdirSync(join(root, 'examples'))
  .filter((dir) => existsSync(join(root, 'examples', dir, 'tsconfig.json')))
  .sort();

function references(tsconfig: string): string[] {
  const refs = (readJson(tsconfig).references ?? []) as { path: string }[];
  return refs.map((r) => r.path);
}

describe('the workspace', () => {
  it('should build every package and example from the root tsconfig', () => {
    const refs = references('tsconfig.json');
    const built = packages.filter((dir) =>
      existsSync(join(root, 'packages', dir, 'tsconfig.json')),
    );
    expect([...refs].sort()).toEqual(
      [...built.map((d) => `packages/${d}`), ...examples.map((d) => `examples/${d}`)].sort(),
    );
    // Each before what refers to it: core first.
    expect(refs[0]).toBe('packages/core');
  });

  it.each(packages.filter((d) => existsSync(join(root, 'packages', d, 'tsconfig.json'))))(
    'should reference from packages/%s the workspace packages it depends on',
    (dir) => {
      const pkg = readJson(`packages/${dir}/package.json`) as {
        dependencies?: Record<string, string>;
      };
      const deps = Object.keys(pkg.dependencies ?? {})
        .filter((name) => name.startsWith('@vigil/'))
        .map((name) => `../${name.slice('@vigil/'.length)}`)
        .sort();
      expect(references(`packages/${dir}/tsconfig.json`).sort()).toEqual(deps);
    },
  );

  it('should give every package a test folder, run as a test project of its own', () => {
    for (const dir of packages) {
      expect(existsSync(join(root, 'packages', dir, 'test')), dir).toBe(true);
    }
  });
});
