/**
 * Reads a service's `http_request_duration_seconds` histogram (services/common/src/metrics.ts) from
 * its /metrics text: how long the service itself says it took to answer, instead of the test's clock.
 */

export interface RequestDurations {
  /** Requests answered within each bucket's bound, by its `le` label ("0.5", "5", "+Inf"). */
  within: Map<string, number>;
  /** Seconds spent on these requests, in total. */
  sum: number;
  count: number;
}

function labelsOf(text: string): Map<string, string> {
  return new Map([...text.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1]!, m[2]!]));
}

/** The histogram's series for one route and status (empty when no such request was answered yet). */
export function requestDurations(metrics: string, selector: { route: string; status: number; method?: string }): RequestDurations {
  const result: RequestDurations = { within: new Map(), sum: 0, count: 0 };
  for (const line of metrics.split('\n')) {
    const match = /^http_request_duration_seconds_(bucket|sum|count)\{([^}]*)\} (\S+)$/.exec(line);
    if (!match) continue;
    const labels = labelsOf(match[2]!);
    if (labels.get('route') !== selector.route || labels.get('status') !== String(selector.status)) continue;
    if (labels.get('method') !== (selector.method ?? 'POST')) continue;
    const value = Number(match[3]);
    if (match[1] === 'bucket') result.within.set(labels.get('le')!, value);
    else if (match[1] === 'sum') result.sum = value;
    else result.count = value;
  }
  return result;
}

/** GETs `${baseUrl}/metrics` and reads the histogram for one route and status. */
export async function fetchRequestDurations(
  baseUrl: string,
  selector: { route: string; status: number; method?: string },
): Promise<RequestDurations> {
  const res = await fetch(`${baseUrl}/metrics`, { signal: AbortSignal.timeout(5_000) });
  if (!res.ok) throw new Error(`${baseUrl}/metrics answered ${res.status}`);
  return requestDurations(await res.text(), selector);
}
