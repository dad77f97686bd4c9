/**
 * npm nests typeorm under this workspace (its optional ioredis peer conflicts with the root's
 * ioredis 6), so code outside the workspace, such as db/, reaches it through this package export.
 */
export { DataSource } from 'typeorm';
export type { DataSourceOptions, MigrationInterface, QueryRunner } from 'typeorm';
