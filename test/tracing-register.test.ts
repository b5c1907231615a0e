// The register entry flushes on SIGTERM but leaves the exit to an app that handles the signal itself.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const fixture = join(__dirname, 'fixtures', 'tracing-register-once.cjs');

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
