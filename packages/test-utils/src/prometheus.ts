// A real Prometheus server for tests: temp dir, generated config, loopback port, HTTP API, clean stop.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, pollFor } from './servers';

/** One scrape job of the generated configuration. */
export interface ScrapeJob {
  name: string;
  /** `host:port` of the endpoint. */
  target: string;
  /** Default `/metrics`. */
  metricsPath?: string;
  /** More scrape_config fields as Prometheus spells them, e.g. `{ scrape_protocols: [...] }`. */
  extra?: Record<string, unknown>;
}

export interface PrometheusOptions {
  jobs: ScrapeJob[];
  /** Default `1s`. */
  scrapeInterval?: string;
  /** `--enable-feature` values, e.g. `exemplar-storage`. */
  features?: string[];
  /** Rule files to load (`rule_files`), absolute paths. Default: none. */
  ruleFiles?: string[];
}

/** One element of an instant vector as the HTTP API returns it. */
export interface VectorSample {
  metric: Record<string, string>;
  value: [number, string];
}

export interface PrometheusServer {
  /** Base URL of the HTTP API, e.g. `http://127.0.0.1:40123`. */
  readonly url: string;
  /** GET on the HTTP API; rejects unless the answer is `status: success`. */
  api<T>(path: string, params?: Record<string, string>): Promise<T>;
  /** Instant query; the vector's samples. */
  query(expr: string): Promise<VectorSample[]>;
  /** What Prometheus printed (the last 64 KiB), for failure messages. */
  logs(): string;
  /** SIGTERM, wait for the exit (SIGKILL after 10 s), remove the temp dir. Safe to call twice. */
  stop(): Promise<void>;
}

/** `2.42.0` from `prometheus --version`, or undefined when it cannot be read. */
export function prometheusVersion(binary: string): string | undefined {
  try {
    const out = execFileSync(binary, ['--version'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return /version (\d+\.\d+\.\d+)/.exec(out)?.[1];
  } catch {
    return undefined;
  }
}

/** True when `version` is at least `minimum` (both `x.y.z`). */
export function versionAtLeast(version: string | undefined, minimum: string): boolean {
  if (version === undefined) return false;
  const a = version.split('.').map(Number);
  const b = minimum.split('.').map(Number);
  for (let i = 0; i < 3; i++) {
    if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) > (b[i] ?? 0);
  }
  return true;
}

const LOG_LIMIT = 64 * 1024;

function waitForExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/**
 * Starts `binary` with a configuration scraping `jobs`, on a free loopback port, and resolves once
 * `/-/ready` answers 200. A port taken between the probe and the start is retried with another one.
 */
export async function startPrometheus(
  binary: string,
  options: PrometheusOptions,
): Promise<PrometheusServer> {
  const dir = await mkdtemp(join(tmpdir(), 'vigil-prometheus-'));
  const config = {
    global: {
      scrape_interval: options.scrapeInterval ?? '1s',
      scrape_timeout: '1s',
      evaluation_interval: '1s',
    },
    ...(options.ruleFiles === undefined ? {} : { rule_files: options.ruleFiles }),
    scrape_configs: options.jobs.map((job) => ({
      job_name: job.name,
      metrics_path: job.metricsPath ?? '/metrics',
      static_configs: [{ targets: [job.target] }],
      ...job.extra,
    })),
  };
  // JSON is YAML, so the configuration needs no YAML library.
  const configFile = join(dir, 'prometheus.yml');
  await writeFile(configFile, JSON.stringify(config, null, 2));

  let lastError: Error | undefined;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    let log = '';
    const child = spawn(
      binary,
      [
        `--config.file=${configFile}`,
        `--storage.tsdb.path=${join(dir, `data-${attempt}`)}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--log.level=warn',
        ...(options.features ?? []).map((f) => `--enable-feature=${f}`),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const collect = (chunk: Buffer) => {
      log = (log + chunk.toString('utf8')).slice(-LOG_LIMIT);
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.on('error', (err) => collect(Buffer.from(`spawn error: ${err.message}\n`)));

    const ready = await pollFor(
      async () => {
        if (child.exitCode !== null || child.signalCode !== null) return false;
        try {
          const res = await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(1_000) });
          return res.status === 200 ? true : undefined;
        } catch {
          return undefined;
        }
      },
      30_000,
      100,
    );
    if (ready === true) {
      let stopped: Promise<void> | undefined;
      const server: PrometheusServer = {
        url,
        async api<T>(path: string, params: Record<string, string> = {}): Promise<T> {
          const res = await fetch(`${url}${path}?${new URLSearchParams(params).toString()}`, {
            signal: AbortSignal.timeout(5_000),
          });
          const body = (await res.json()) as { status: string; data: T; error?: string };
          if (body.status !== 'success') throw new Error(`${path}: ${body.error ?? res.status}`);
          return body.data;
        },
        async query(expr: string): Promise<VectorSample[]> {
          const data = await server.api<{ resultType: string; result: VectorSample[] }>(
            '/api/v1/query',
            {
              query: expr,
            },
          );
          if (data.resultType !== 'vector')
            throw new Error(`${expr}: a ${data.resultType}, not a vector`);
          return data.result;
        },
        logs: () => log,
        stop() {
          stopped ??= (async () => {
            child.kill('SIGTERM');
            if (!(await waitForExit(child, 10_000))) {
              child.kill('SIGKILL');
              await waitForExit(child, 5_000);
            }
            await rm(dir, { recursive: true, force: true });
          })();
          return stopped;
        },
      };
      return server;
    }
    child.kill('SIGKILL');
    await waitForExit(child, 5_000);
    lastError = new Error(`prometheus did not become ready on port ${port}:\n${log}`);
    // Only a port lost to another process is worth another attempt.
    if (!/address already in use/.test(log)) break;
  }
  await rm(dir, { recursive: true, force: true });
  throw lastError ?? new Error('prometheus did not start');
}
