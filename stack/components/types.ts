export const INFRA = ['postgres', 'redis', 'kafka', 'wiremock'] as const;
export const SERVICES = ['order-manage-data-api', 'order-manage-api', 'order-stream-process'] as const;
export type ServiceName = (typeof SERVICES)[number];
export type ComponentName = (typeof INFRA)[number] | ServiceName;
export const COMPONENT_NAMES: readonly ComponentName[] = [...INFRA, ...SERVICES];

/** The short names `--replicas api=2,data-api=2,stream=3` accepts beside the full ones. */
export const SERVICE_ALIASES: Record<string, ServiceName> = {
  api: 'order-manage-api',
  'data-api': 'order-manage-data-api',
  stream: 'order-stream-process',
};

export type ReplicaCounts = Record<ServiceName, number>;

/**
 * Replica 1 keeps the service's own name, pid file and log file, so every tool written for one
 * replica still finds it; replica n > 1 is `<service>-<n>`.
 */
export function instanceName(service: ServiceName, index: number): string {
  return index === 1 ? service : `${service}-${index}`;
}

/** The service and replica index an instance name stands for, if it names one. */
export function parseInstanceName(name: string): { service: ServiceName; index: number } | undefined {
  const match = /^(.*?)(?:-(\d+))?$/.exec(name)!;
  const service = SERVICES.find((s) => s === match[1]);
  if (!service) return undefined;
  const index = match[2] === undefined ? 1 : Number(match[2]);
  return index >= 1 ? { service, index } : undefined;
}

export interface Component {
  /** A name of COMPONENT_NAMES, or a service replica's instance name (`order-manage-api-2`). */
  name: string;
  /** Where it answers, as shown in the status table. */
  url: string;
  logFile: string;
  /** How long a start may take before the stack gives up on it. */
  deadlineMs: number;
  /** It answers as it should (for a service: /health/ready is 200). */
  ready(): Promise<boolean>;
  /** Why it is not ready (a service's /health/ready answer names the dependency that is down). */
  notReadyBecause?(): Promise<string>;
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
