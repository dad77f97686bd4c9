import express, { type Express } from 'express';

/** The Express app every service starts from. */
export function serviceApp(): Express {
  const app = express();
  app.disable('x-powered-by');
  // Nothing caches these answers: an ETag would only cost a hash of every body.
  app.disable('etag');
  return app;
}
