// Silences made through the alerts API, mirrored to the Alertmanagers alerts are handed to: created
// with `POST /api/v2/silences`, expired with `DELETE /api/v2/silence/{id}`, in the background. A
// failure is logged once and never reaches the operator's request.
import type { ProblemReporter } from '@vigil/core';
import type { SilenceView } from './model';

/** Longest one call to an Alertmanager may take. */
export const SILENCE_MIRROR_TIMEOUT_MS = 5_000;
/** The most silence ids remembered for their expiry; the oldest are forgotten first. */
const MAX_MIRRORED = 10_000;

/** Mirrors silences to Alertmanagers. */
export interface SilenceMirror {
  created(silence: SilenceView): void;
  expired(id: string): void;
  /** Resolves when every call started so far has ended. */
  settled(): Promise<void>;
}

export function silenceMirror(urls: readonly string[], problems: ProblemReporter): SilenceMirror {
  // Vigil's silence id to each Alertmanager's (in the order of `urls`), once it answered.
  const ids = new Map<string, Promise<(string | undefined)[]>>();
  const inFlight = new Set<Promise<unknown>>();
  const track = <T>(p: Promise<T>): Promise<T> => {
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p));
    return p;
  };
  const base = (url: string): string => url.replace(/\/+$/, '');

  async function create(url: string, s: SilenceView): Promise<string | undefined> {
    try {
      const res = await fetch(`${base(url)}/api/v2/silences`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          matchers: s.matchers,
          startsAt: s.startsAt,
          endsAt: s.endsAt,
          createdBy: s.createdBy,
          // Alertmanager refuses a silence without a comment.
          comment: s.comment || 'Silenced through the Vigil alerts API',
        }),
        signal: AbortSignal.timeout(SILENCE_MIRROR_TIMEOUT_MS),
      });
      const body = (await res.json().catch(() => undefined)) as { silenceID?: unknown } | undefined;
      if (!res.ok || typeof body?.silenceID !== 'string') {
        problems.report(
          `silence-create:${res.status}`,
          `Alertmanager refused a silence: ${res.status}`,
        );
        return undefined;
      }
      return body.silenceID;
    } catch (error) {
      problems.report('silence-create', error);
      return undefined;
    }
  }

  async function expire(url: string, amId: string): Promise<void> {
    try {
      const res = await fetch(`${base(url)}/api/v2/silence/${encodeURIComponent(amId)}`, {
        method: 'DELETE',
        signal: AbortSignal.timeout(SILENCE_MIRROR_TIMEOUT_MS),
      });
      await res.arrayBuffer();
      if (!res.ok) problems.report(`silence-expire:${res.status}`, `Alertmanager: ${res.status}`);
    } catch (error) {
      problems.report('silence-expire', error);
    }
  }

  return {
    created(silence) {
      const pending = track(Promise.all(urls.map((url) => create(url, silence))));
      ids.set(silence.id, pending);
      if (ids.size > MAX_MIRRORED) {
        const oldest = ids.keys().next().value;
        if (oldest !== undefined) ids.delete(oldest);
      }
    },
    expired(id) {
      const pending = ids.get(id);
      if (pending === undefined) return;
      ids.delete(id);
      void track(
        pending.then((amIds) =>
          Promise.all(
            amIds.map((amId, i) =>
              amId === undefined ? Promise.resolve() : expire(urls[i] as string, amId),
            ),
          ),
        ),
      );
    },
    async settled() {
      while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
    },
  };
}
