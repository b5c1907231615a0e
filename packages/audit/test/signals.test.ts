// Nothing lost on SIGTERM / SIGINT: a real app under load is stopped mid-load; every request that was
// answered has exactly one event in the file, and the file verifies.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { verifyAuditLog } from '@vigil/audit';
import { ensureBuilt } from './support/dist';
import { cleanup, tempDir } from './support/memory';

const FIXTURE = join(__dirname, 'fixtures', 'sigterm-app.mjs');
const EXIT_FIXTURE = join(__dirname, 'fixtures', 'exit-app.mjs');
const N = 400;
/** Responses received before the signal is sent. */
const SIGNAL_AFTER = 100;

beforeAll(() => ensureBuilt(), 120_000);
afterEach(cleanup);

const children = new Set<ChildProcess>();
afterEach(() => {
  for (const child of children)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  children.clear();
});

interface Run {
  answered: string[];
  unanswered: number;
  code: number | null;
  signal: NodeJS.Signals | null;
  file: string;
}

async function loadAndStop(signal: NodeJS.Signals, mode: 'default' | 'app-handles'): Promise<Run> {
  const file = join(tempDir(), 'audit.log');
  const child = spawn(process.execPath, [FIXTURE, file, mode], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.add(child);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, sig) => resolve({ code, signal: sig })),
  );
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const m = /"port":(\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', () => reject(new Error(`fixture exited before listening: ${out}`)));
  });

  const answered: string[] = [];
  let unanswered = 0;
  let signalled = false;
  const one = (id: string) =>
    new Promise<void>((resolve) => {
      const req = request(
        { host: '127.0.0.1', port, method: 'POST', path: `/work/${id}`, agent: false },
        (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (body += c));
          res.on('end', () => {
            if (res.statusCode === 200 && body === id) answered.push(id);
            else unanswered++;
            if (!signalled && answered.length >= SIGNAL_AFTER) {
              signalled = true;
              child.kill(signal);
            }
            resolve();
          });
          res.on('error', () => {
            unanswered++;
            resolve();
          });
        },
      );
      req.on('error', () => {
        unanswered++;
        resolve();
      });
      req.end();
    });
  await Promise.all(Array.from({ length: N }, (_, i) => one(`req-${i}`)));
  const { code, signal: exitSignal } = await exited;
  return { answered, unanswered, code, signal: exitSignal, file };
}

function check(run: Run, label: string): void {
  expect(existsSync(run.file)).toBe(true);
  const text = readFileSync(run.file, 'utf8');
  const events = text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as { request_id: string });
  const counts = new Map<string, number>();
  for (const e of events) counts.set(e.request_id, (counts.get(e.request_id) ?? 0) + 1);
  console.log(
    `${label}: answered ${run.answered.length}, events ${events.length}, unanswered ${run.unanswered} (of ${N}); exit ${run.signal ?? run.code}`,
  );
  const missing = run.answered.filter((id) => counts.get(id) !== 1);
  expect(missing).toEqual([]);
  expect([...counts.values()].every((n) => n === 1)).toBe(true);
  expect(run.answered.length).toBeGreaterThanOrEqual(SIGNAL_AFTER);
  expect(run.answered.length + run.unanswered).toBe(N);
  expect(events.length).toBeGreaterThanOrEqual(run.answered.length);
  expect(verifyAuditLog(text)).toMatchObject({ ok: true, events: events.length });
}

describe('signals under load', () => {
  it('should lose no answered event on SIGTERM, then end with the signal', async () => {
    const run = await loadAndStop('SIGTERM', 'default');
    check(run, 'SIGTERM');
    expect(run.signal).toBe('SIGTERM');
  });

  it('should lose no answered event on SIGINT, then end with the signal', async () => {
    const run = await loadAndStop('SIGINT', 'default');
    check(run, 'SIGINT');
    expect(run.signal).toBe('SIGINT');
  });

  it('should leave the exit to an app that handles SIGTERM, and lose nothing during its shutdown', async () => {
    const run = await loadAndStop('SIGTERM', 'app-handles');
    check(run, 'SIGTERM, app shuts down itself');
    expect(run.code).toBe(0);
  });
});

describe('process.exit() right after record()', () => {
  it('should leave every event in the file, in order', () => {
    const dir = tempDir();
    const counts = [1, 2, 3, 5, 50];
    const runs = 6;
    const failures: string[] = [];
    let tried = 0;
    for (const count of counts) {
      for (let r = 0; r < runs; r++) {
        tried++;
        const file = join(dir, `exit-${count}-${r}.log`);
        const child = spawnSync(process.execPath, [EXIT_FIXTURE, file, String(count)], {
          timeout: 30_000,
        });
        expect(child.status).toBe(0);
        const result = verifyAuditLog(readFileSync(file, 'utf8'));
        if (!result.ok || result.events !== count)
          failures.push(`${count}/${r}: ${result.summary}`);
      }
    }
    console.log(
      `process.exit() after record(): ${tried} runs, ${failures.length} with a lost or misplaced event`,
    );
    expect(failures).toEqual([]);
  }, 120_000);
});
