export * from './config.js';
export * from './correlation.js';
export * from './health.js';
export * from './http.js';
export * from './lifecycle.js';
export * from './logger.js';
export * from './metrics.js';
export * from './problem.js';
