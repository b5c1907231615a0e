#!/usr/bin/env node
// vigil-audit: `vigil-audit verify FILE` checks an audit log's hash chain. Exit 0 intact, 1 tampered, 2 usage.
import { readFileSync } from 'node:fs';
import { verifyAuditLog } from './verify';

const USAGE = `Usage: vigil-audit verify [--allow-foreign] [--partial] [--json] FILE

Checks the hash chain of an audit log written by @vigil/audit and prints one line:
"ok: ..." when every event is intact, or "TAMPERED line N: ..." for the first problem.
FILE may be - for standard input.

  --allow-foreign  skip lines that are not audit events (other logs on the same stream)
  --partial        accept a file whose first event continues an earlier chain (a rotated file)
  --json           print the full result as JSON instead of the summary line

Exit status: 0 intact, 1 tampered, 2 usage or read error.`;

/** Splits a buffer into lines without building one string of the whole file. */
function splitLines(buffer: Buffer): string[] {
  const lines: string[] = [];
  let start = 0;
  for (;;) {
    const nl = buffer.indexOf(0x0a, start);
    if (nl === -1) {
      if (start < buffer.length) lines.push(buffer.toString('utf8', start));
      return lines;
    }
    lines.push(buffer.toString('utf8', start, nl));
    start = nl + 1;
  }
}

/** Runs the CLI with `argv` (without node and the script); returns the exit status. */
export function main(
  argv: readonly string[],
  out: (line: string) => void,
  err: (line: string) => void,
): number {
  const flags = new Set<string>();
  const files: string[] = [];
  const [command, ...rest] = argv;
  if (command === '--help' || command === '-h' || command === 'help') {
    out(USAGE);
    return 0;
  }
  if (command !== 'verify') {
    err(command === undefined ? USAGE : `vigil-audit: unknown command "${command}"\n\n${USAGE}`);
    return 2;
  }
  for (const arg of rest) {
    if (arg === '--help' || arg === '-h') {
      out(USAGE);
      return 0;
    }
    if (arg.startsWith('--')) {
      if (!['--allow-foreign', '--partial', '--json'].includes(arg)) {
        err(`vigil-audit: unknown option "${arg}"\n\n${USAGE}`);
        return 2;
      }
      flags.add(arg);
    } else {
      files.push(arg);
    }
  }
  if (files.length !== 1) {
    err(`vigil-audit: verify takes one FILE, got ${files.length}\n\n${USAGE}`);
    return 2;
  }
  const file = files[0] as string;
  let buffer: Buffer;
  try {
    buffer = readFileSync(file === '-' ? 0 : file);
  } catch (e) {
    err(`vigil-audit: cannot read ${file}: ${e instanceof Error ? e.message : String(e)}`);
    return 2;
  }
  const result = verifyAuditLog(splitLines(buffer), {
    allowForeign: flags.has('--allow-foreign'),
    partial: flags.has('--partial'),
  });
  out(flags.has('--json') ? JSON.stringify(result) : result.summary);
  return result.ok ? 0 : 1;
}

// Run when executed (the bin), not when imported.
if (typeof require !== 'undefined' && require.main === module) {
  process.exitCode = main(
    process.argv.slice(2),
    (line) => process.stdout.write(`${line}\n`),
    (line) => process.stderr.write(`${line}\n`),
  );
}
