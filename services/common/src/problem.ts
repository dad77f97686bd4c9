import type { NextFunction, Request, Response } from 'express';
import type { Logger } from './logger.js';

/** RFC 9457 problem details with a stable machine-readable `code`. */
export interface Problem {
  status: number;
  code: string;
  detail: string;
  [extension: string]: unknown;
}

export class ProblemError extends Error {
  readonly problem: Problem;
  readonly headers: Record<string, string>;

  constructor(problem: Problem, headers: Record<string, string> = {}) {
    super(`${problem.code}: ${problem.detail}`);
    this.name = 'ProblemError';
    this.problem = problem;
    this.headers = headers;
  }
}

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  404: 'Not Found',
  409: 'Conflict',
  413: 'Content Too Large',
  422: 'Unprocessable Content',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/** A 503 is transient by definition: every one tells the caller when to come back, unless it says so itself. */
const DEFAULT_RETRY_AFTER_SECONDS = '1';

/**
 * Writes the problem body. `answerStatus` sends it under another HTTP status than the problem's own
 * (a refusal answered 200 so Shopify neither retries it nor counts it as a failed delivery).
 */
export function sendProblem(
  res: Response,
  problem: Problem,
  headers: Record<string, string> = {},
  answerStatus: number = problem.status,
): void {
  const { status, code, detail, ...extensions } = problem;
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
  if (answerStatus === 503 && !res.hasHeader('retry-after')) res.setHeader('Retry-After', DEFAULT_RETRY_AFTER_SECONDS);
  res
    .status(answerStatus)
    .type('application/problem+json')
    .send(
      JSON.stringify({
        type: `urn:problem:${code.toLowerCase().replace(/_/g, '-')}`,
        title: TITLES[status] ?? 'Error',
        status,
        code,
        detail,
        ...extensions,
      }),
    );
}

/** body-parser's limit in bytes, as the limits are written: "1 MiB", "64 KiB". */
function binarySize(bytes: number | undefined): string {
  if (bytes === undefined) return 'the limit';
  if (bytes % 1_048_576 === 0) return `${bytes / 1_048_576} MiB`;
  if (bytes % 1_024 === 0) return `${bytes / 1_024} KiB`;
  return `${bytes} bytes`;
}

/** Last error handler: known problems keep their status; anything else is a 500 that never leaks internals. */
export function problemHandler(logger: Logger) {
  return (err: unknown, _req: Request, res: Response, next: NextFunction): void => {
    if (res.headersSent) return next(err);
    if (err instanceof ProblemError) return sendProblem(res, err.problem, err.headers);
    const bodyError = err as { type?: string; status?: number; limit?: number };
    if (bodyError?.type === 'entity.too.large') {
      return sendProblem(res, {
        status: 413,
        code: 'PAYLOAD_TOO_LARGE',
        detail: `The request body is larger than ${binarySize(bodyError.limit)}.`,
      });
    }
    if (bodyError?.type === 'entity.parse.failed') {
      return sendProblem(res, { status: 400, code: 'INVALID_PAYLOAD', detail: 'The request body is not valid JSON.' });
    }
    logger.error('unhandled error', { event: 'http.error', error: err instanceof Error ? err.stack : String(err) });
    sendProblem(res, { status: 500, code: 'INTERNAL_ERROR', detail: 'An unexpected error occurred.' });
  };
}
