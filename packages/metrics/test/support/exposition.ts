// A strict reader of the text exposition formats, to prove what Vigil renders parses back unchanged.
import { spawnSync } from 'node:child_process';

export interface ParsedSample {
  name: string;
  labels: Record<string, string>;
  value: string;
  /** The exemplar part after ` # `, verbatim, when present. */
  exemplar?: string;
}

export interface ParsedExposition {
  samples: ParsedSample[];
  /** `# TYPE` lines: family name -> type. */
  types: Map<string, string>;
  /** Lines that are neither a comment of a known kind nor a well-formed sample. */
  bad: string[];
}

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const LABEL = '[a-zA-Z_][a-zA-Z0-9_]*';
// A label value: any character but `"`, `\` and a raw newline, or one of the three escapes.
const VALUE = '(?:[^"\\\\\\n]|\\\\[\\\\"n])*';
const PAIR = `${LABEL}="${VALUE}"`;
const LABELS = `\\{(?:${PAIR}(?:,${PAIR})*,?)?\\}`;
const NUMBER = '(?:[-+]?(?:\\d+(?:\\.\\d*)?(?:[eE][-+]?\\d+)?|\\.\\d+)|[-+]?Inf|NaN)';
const SAMPLE_LINE = new RegExp(
  `^(${NAME})(${LABELS})? (${NUMBER})(?: (\\d+(?:\\.\\d+)?))?(?: # (${LABELS} ${NUMBER}(?: \\d+(?:\\.\\d+)?)?))?$`,
);
const PAIR_RE = new RegExp(`(${LABEL})="(${VALUE})"`, 'g');

const unescape = (v: string): string =>
  v.replace(/\\([\\"n])/g, (_m, c: string) => (c === 'n' ? '\n' : c));

/** Parses a Prometheus text or OpenMetrics exposition line by line. */
export function parseExposition(text: string): ParsedExposition {
  const samples: ParsedSample[] = [];
  const types = new Map<string, string>();
  const bad: string[] = [];
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  for (const line of lines) {
    // The Prometheus text format allows blank lines (prom-client puts one between families).
    if (line === '') continue;
    if (line.startsWith('# HELP ') || line.startsWith('# UNIT ') || line === '# EOF') continue;
    if (line.startsWith('# TYPE ')) {
      const [, , family = '', type = ''] = line.split(' ');
      types.set(family, type);
      continue;
    }
    const m = SAMPLE_LINE.exec(line);
    if (!m) {
      bad.push(line);
      continue;
    }
    const labels: Record<string, string> = {};
    for (const pair of (m[2] ?? '').matchAll(PAIR_RE)) labels[pair[1]!] = unescape(pair[2]!);
    samples.push({ name: m[1]!, labels, value: m[3]!, exemplar: m[5] });
  }
  return { samples, types, bad };
}

/** The promtool binary, or undefined (the caller skips; with CI=true it fails instead). */
export function findPromtool(): string | undefined {
  const found = spawnSync('sh', ['-c', 'command -v promtool'], { encoding: 'utf8' }).stdout.trim();
  if (found) return found;
  const message =
    'promtool not found: install the Debian package "prometheus" (apt-get install -y prometheus)';
  if (process.env.CI === 'true') throw new Error(`${message}. CI=true, so this is a failure.`);
  console.warn(`skipping: ${message}`);
  return undefined;
}

/** Runs `promtool check metrics` on `text`: exit status and output. */
export function promtoolCheck(promtool: string, text: string): { status: number; output: string } {
  const r = spawnSync(promtool, ['check', 'metrics'], { input: text, encoding: 'utf8' });
  return { status: r.status ?? -1, output: `${r.stdout}${r.stderr}` };
}
