import type { Settings } from '../settings.js';

export const INFRA = ['postgres', 'redis', 'kafka', 'wiremock'] as const;
export const SERVICES = ['order-manage-data-api', 'order-manage-api', 'order-stream-process'] as const;
export type ServiceName = (typeof SERVICES)[number];
export type ComponentName = (typeof INFRA)[number] | ServiceName;
export const COMPONENT_NAMES: readonly ComponentName[] = [...INFRA, ...SERVICES];

export function isComponentName(name: string): name is ComponentName {
  return (COMPONENT_NAMES as readonly string[]).includes(name);
}

export interface Component {
  name: ComponentName;
  /** Where it answers, as shown in the status table. */
  url: string;
  logFile: string;
  /** How long a start may take before the stack gives up on it. */
  deadlineMs: number;
  /** It answers as it should (for a service: /health/ready is 200). */
  ready(): Promise<boolean>;
  /** The pid of the process this stack started, if it still runs. */
  pid(): number | undefined;
  /** Installs or initialises what the first start needs. */
  prepare(): Promise<void>;
  /** Starts the process and returns its pid; readiness is awaited by the caller. */
  start(): Promise<number>;
  /** Runs once it is ready, even when it was already running (Kafka's topics, WireMock's mappings). */
  afterReady?(): Promise<void>;
  /** Stops the process this stack started. */
  stop(): Promise<void>;
}

export interface ComponentContext {
  settings: Settings;
}
