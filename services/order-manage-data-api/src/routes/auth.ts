import { createHash, timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import { sendProblem } from '@oms/common';

const digest = (value: string) => createHash('sha256').update(value).digest();

/**
 * Bearer token check for the internal API. Both sides are hashed first so the comparison is
 * constant time whatever the presented token's length.
 */
export function bearerAuth(token: string) {
  const expected = digest(token);
  return (req: Request, res: Response, next: NextFunction): void => {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(req.header('authorization') ?? '');
    if (match && timingSafeEqual(digest(match[1]!), expected)) return next();
    sendProblem(
      res,
      { status: 401, code: 'UNAUTHORIZED', detail: 'A valid bearer token is required for the internal API.' },
      { 'WWW-Authenticate': 'Bearer' },
    );
  };
}
