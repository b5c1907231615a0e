// The register entry flushes on SIGTERM but leaves the exit to an app that handles the signal itself.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const fixture = join(__dirname, 'fixtures', 'tracing-register-once.cjs');
const stateFixture = join(__dirname, 'fixtures', 'tracing-register-state.cjs');

interface State {
  started: boolean;
  disabled: boolean | null;
  provider: boolean;
  recording: boolean;
  listeners: Record<'SIGTERM' | 'SIGINT' | 'beforeExit', number>;
}

/** Runs the state fixture under `flag` (--require / --import) with `env`; its one JSON line. */
async function stateUnder(flag: string, env: Record<string, string>): Promise<State> {
  const child = spawn(process.execPath, [flag, '@vigil/tracing/register', stateFixture], {
    env: { ...process.env, OTEL_TRACES_EXPORTER: 'none', NODE_OPTIONS: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  expect(code, err).toBe(0);
  return JSON.parse(out.trim()) as State;
}

describe('@vigil/tracing/register and signals', () => {
  it("should let an app's process.once SIGTERM handler finish its shutdown", async () => {
    const child = spawn(process.execPath, ['--require', '@vigil/tracing/register', fixture], {
      env: { ...process.env, OTEL_TRACES_EXPORTER: 'none' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let signalled = false;
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (!signalled && out.includes('"ready"')) {
        signalled = true;
        child.kill('SIGTERM');
      }
    });
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    console.log(`register + process.once: exit ${code}, output ${out.trim().replace(/\n/g, ' ')}`);
    expect(out).toContain('"appFinished":true');
    expect(code).toBe(0);
  });
});

describe('@vigil/tracing/register with OTEL_SDK_DISABLED', () => {
  it.each(['--require', '--import'])(
    'should set up nothing and add no listener under %s',
    async (flag) => {
      const off = await stateUnder(flag, { OTEL_SDK_DISABLED: 'true' });
      const on = await stateUnder(flag, { OTEL_SDK_DISABLED: 'false' });
      console.log(
        `register ${flag}: disabled ${JSON.stringify(off)}; enabled ${JSON.stringify(on)}`,
      );
      expect(off).toEqual({
        started: true,
        disabled: true,
        provider: false,
        recording: false,
        listeners: { SIGTERM: 0, SIGINT: 0, beforeExit: 0 },
      });
      expect(on).toMatchObject({ started: true, disabled: false, provider: true, recording: true });
      expect(on.listeners.SIGTERM).toBeGreaterThan(0);
      expect(on.listeners.beforeExit).toBeGreaterThan(0);
    },
  );
});
