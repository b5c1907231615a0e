// The rules engine's state file: active alerts' activeAt/firedAt/keepFiringSince, written atomically
// (temporary file + rename) and read back at start so `for` survives a restart, the way Prometheus
// restores it from ALERTS_FOR_STATE.
import { readFileSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';

/** The file's format version. */
export const STATE_FILE_VERSION = 1;

/** One alert's saved state. Times in ms since the epoch. */
export interface SavedAlert {
  readonly group: string;
  readonly rule: string;
  readonly fingerprint: string;
  readonly state: 'pending' | 'firing';
  readonly activeAt: number;
  readonly firedAt?: number;
  readonly keepFiringSince?: number;
}

/** The file's content. */
export interface SavedState {
  readonly version: number;
  /** When it was written: the last time the alerts were known to be in this state. */
  readonly savedAt: number;
  readonly alerts: readonly SavedAlert[];
}

function isSavedAlert(v: unknown): v is SavedAlert {
  if (v === null || typeof v !== 'object') return false;
  const a = v as Record<string, unknown>;
  return (
    typeof a.group === 'string' &&
    typeof a.rule === 'string' &&
    typeof a.fingerprint === 'string' &&
    (a.state === 'pending' || a.state === 'firing') &&
    typeof a.activeAt === 'number' &&
    (a.firedAt === undefined || typeof a.firedAt === 'number') &&
    (a.keepFiringSince === undefined || typeof a.keepFiringSince === 'number')
  );
}

/**
 * Reads the state file. A missing file is an empty state; an unreadable or corrupt one returns an
 * Error to report (the engine starts without state, never fails).
 */
export function readStateFile(path: string): SavedState | undefined | Error {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    return e instanceof Error ? e : new Error(String(e));
  }
  try {
    const parsed = JSON.parse(text) as Partial<SavedState> | null;
    if (
      parsed === null ||
      typeof parsed !== 'object' ||
      parsed.version !== STATE_FILE_VERSION ||
      typeof parsed.savedAt !== 'number' ||
      !Array.isArray(parsed.alerts) ||
      !parsed.alerts.every(isSavedAlert)
    ) {
      return new Error(`${path} is not a rules engine state file of version ${STATE_FILE_VERSION}`);
    }
    return parsed as SavedState;
  } catch (e) {
    return new Error(`${path} is not valid JSON: ${e instanceof Error ? e.message : String(e)}`);
  }
}

let sequence = 0;

/** Writes the state atomically: a reader sees the old file or the new one, never a torn write. */
export async function writeStateFile(path: string, state: SavedState): Promise<void> {
  const tmp = `${path}.${process.pid}.${++sequence}.tmp`;
  await writeFile(tmp, JSON.stringify(state), 'utf8');
  await rename(tmp, path);
}
