// Vigil's packages share one SIGTERM/SIGINT listener: with tracing's register entry and an audit
// logger both loaded and no handler of the app's own, a signal flushes both and still ends the process.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { verifyAuditLog } from '@vigil/audit';

const fixture = join(__dirname, 'fixtures', 'shutdown-audit-tracing.cjs');
const dir = mkdtempSync(join(tmpdir(), 'vigil-shutdown-'));

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('shutdown on signals with several Vigil packages', () => {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`should flush audit events and end the process on ${signal}`, async () => {
      const file = join(dir, `audit-${signal}.log`);
      const child = spawn(
        process.execPath,
        ['--require', '@vigil/tracing/register', fixture, file],
        {
          env: { ...process.env, OTEL_TRACES_EXPORTER: 'none' },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        if (out.includes('"ready"')) child.kill(signal);
      });
      const started = Date.now();
      const ended = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>(
        (resolve) => child.on('exit', (code, sig) => resolve({ code, signal: sig })),
      );
      const result = verifyAuditLog(readFileSync(file, 'utf8'));
      console.log(
        `${signal}: ended by ${ended.signal ?? `exit ${ended.code}`} after ${Date.now() - started} ms, ${result.events} events, intact ${result.ok}`,
      );
      expect(ended.signal).toBe(signal);
      expect(result.ok).toBe(true);
      expect(result.events).toBe(200);
    });
  }
});
