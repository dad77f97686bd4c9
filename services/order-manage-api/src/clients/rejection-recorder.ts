import { CORRELATION_HEADER, currentContext, httpRequest, isTimeout, type Logger, type Problem } from '@oms/common';
import { refusesAnOrder } from '../domain/outcome.js';

export type RecordOutcome = 'recorded' | 'failed' | 'dropped';

export interface RejectionRecorder {
  /**
   * Reports a refusal to the data-api's ledger in the background; never throws and never waits:
   * the webhook's answer has already gone, and a ledger outage must not change or delay it.
   */
  record(problem: Problem, webhookId: string | undefined): void;
  /** Waits for the reports in flight (graceful shutdown). */
  drain(): Promise<void>;
}

export interface RejectionRecorderOptions {
  baseUrl: string;
  token: string;
  timeoutMs: number;
  logger: Logger;
  onOutcome?: (outcome: RecordOutcome) => void;
  /** Reports in flight beyond this are dropped (and counted): a slow data-api must not pile up sockets. */
  maxInFlight?: number;
}

export function createRejectionRecorder(options: RejectionRecorderOptions): RejectionRecorder {
  const { token, timeoutMs, logger, onOutcome = () => undefined, maxInFlight = 200 } = options;
  const endpoint = `${options.baseUrl.replace(/\/+$/, '')}/internal/orders/rejections`;
  const inFlight = new Set<Promise<void>>();

  async function send(
    problem: Problem & { orderId: string },
    webhookId: string | undefined,
    correlationId: string | undefined,
  ): Promise<void> {
    const { status, code, detail, orderId, type: _type, title: _title, ...extensions } = problem;
    const headers: Record<string, string> = {
      authorization: `Bearer ${token}`,
      'content-type': 'application/json',
      accept: 'application/json',
    };
    if (correlationId) headers[CORRELATION_HEADER] = correlationId;
    const meta = { event: 'order.rejection.record_failed', orderId, code, ...(correlationId ? { correlationId } : {}) };
    try {
      const answer = await httpRequest(endpoint, {
        method: 'POST',
        headers,
        body: JSON.stringify({ orderId, webhookId: webhookId ?? null, code, status, detail, extensions }),
        timeoutMs,
      });
      if (answer.status === 200 || answer.status === 201) return onOutcome('recorded');
      onOutcome('failed');
      logger.warn(`refused order ${orderId} not recorded in the ledger: the data-api answered ${answer.status}`, {
        ...meta,
        status: answer.status,
      });
    } catch (err) {
      onOutcome('failed');
      const reason = isTimeout(err) ? `no answer within ${timeoutMs} ms` : `cannot connect (${(err as Error).message})`;
      logger.warn(`refused order ${orderId} not recorded in the ledger: ${reason}`, meta);
    }
  }

  return {
    record(problem, webhookId) {
      // Refusals whose order a merchant must still act on (docs/spec.md section 10); 401, 413 and 5xx are not.
      if (!refusesAnOrder(problem)) return;
      const { orderId } = problem;
      if (inFlight.size >= maxInFlight) {
        onOutcome('dropped');
        logger.warn(`refused order ${orderId} not recorded in the ledger: ${maxInFlight} reports already in flight`, {
          event: 'order.rejection.record_failed',
          orderId,
          code: problem.code,
        });
        return;
      }
      const pending = send({ ...problem, orderId }, webhookId, currentContext()?.correlationId).finally(() => inFlight.delete(pending));
      inFlight.add(pending);
    },

    async drain() {
      await Promise.allSettled([...inFlight]);
    },
  };
}
