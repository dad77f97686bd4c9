import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { stackLogsDir } from './stack-env.js';

export const SERVICES = ['order-manage-api', 'order-manage-data-api', 'order-stream-process'] as const;

export interface LogLine {
  time: string;
  level: string;
  service: string;
  event: string;
  orderId?: number | string;
  correlationId?: string;
  msg: string;
  [field: string]: unknown;
}

/** Every JSON line a stack service has written to `.stack/logs/<service>.log` (other output is skipped). */
export function readServiceLog(service: string): LogLine[] {
  const file = path.join(stackLogsDir(), `${service}.log`);
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .flatMap((line) => {
      try {
        return [JSON.parse(line) as LogLine];
      } catch {
        return [];
      }
    });
}

/** The SUCCESS markers (docs/spec.md section 7) that every service wrote for one order, as `service event` strings. */
export function successMarkers(orderId: number | string): string[] {
  return SERVICES.flatMap((service) =>
    readServiceLog(service)
      .filter((line) => String(line.orderId) === String(orderId) && line.msg.startsWith('SUCCESS'))
      .map((line) => `${line.service} ${line.event}`),
  );
}
