/**
 * What deploy/k8s promises (docs/spec.md section 11), read from the rendered overlays: probes, resources,
 * non-root read-only pods, grace periods that cover each service's drain, autoscaling inside the
 * bounds PostgreSQL and Kafka set, disruption budgets, network isolation of the data-api, the two
 * Jobs, and data stores left to managed services or operators.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { REPO_ROOT } from '../support/stack-env.js';
import {
  APP_SERVICES,
  configMapData,
  containerPort,
  containersOf,
  find,
  type K8sObject,
  mainContainer,
  ofKind,
  OVERLAYS,
  plainEnv,
  podLabels,
  quantity,
  rendered,
  resolvedEnv,
  selects,
  type AppService,
  type Workload,
} from './manifests.js';

interface Hpa extends K8sObject {
  spec: { scaleTargetRef: { kind: string; name: string }; minReplicas?: number; maxReplicas: number };
}
interface Pdb extends K8sObject {
  spec: { selector: { matchLabels?: Record<string, string> }; maxUnavailable?: number | string; minAvailable?: number | string };
}
interface NetworkPeer {
  podSelector?: { matchLabels?: Record<string, string> };
  namespaceSelector?: object;
  ipBlock?: object;
}
interface NetPol extends K8sObject {
  spec: {
    podSelector: { matchLabels?: Record<string, string> };
    policyTypes?: string[];
    ingress?: Array<{ from?: NetworkPeer[]; ports?: Array<{ port?: string | number }> }>;
  };
}

/** PostgreSQL's default max_connections, and the slots it keeps for superusers (docs/scaling.md). */
const POSTGRES_MAX_CONNECTIONS = 100;
const POSTGRES_SUPERUSER_RESERVED = 3;
/** The migration Job: the maintenance-database check, then one session for the migrations. */
const MIGRATION_JOB_CONNECTIONS = 2;

/** The service's forced-exit timeout: its main's shutdownTimeoutMs, else serve()'s default. */
function drainSeconds(service: AppService): number {
  const read = (file: string, re: RegExp) => re.exec(readFileSync(path.join(REPO_ROOT, file), 'utf8'))?.[1];
  const ms =
    read(`services/${service}/src/main.ts`, /shutdownTimeoutMs:\s*([\d_]+)/) ??
    read('services/common/src/lifecycle.ts', /shutdownTimeoutMs\s*=\s*([\d_]+)/);
  assert.ok(ms, `the drain timeout of ${service} is found`);
  return Number(ms.replace(/_/g, '')) / 1000;
}

function hpaFor(objects: K8sObject[], service: string): Hpa | undefined {
  return ofKind<Hpa>(objects, 'HorizontalPodAutoscaler').find(
    (h) => h.spec.scaleTargetRef.kind === 'Deployment' && h.spec.scaleTargetRef.name === service,
  );
}

function topicPartitions(objects: K8sObject[]): number {
  const job = find<Workload>(objects, 'Job', 'kafka-topics').spec.template.spec.containers[0]!;
  const partitions = Number(plainEnv(resolvedEnv(objects, job)).TOPIC_PARTITIONS);
  assert.ok(Number.isInteger(partitions), 'the topic Job names its partition count');
  assert.ok(job.args?.join(' ').includes('--partitions "$TOPIC_PARTITIONS"'), 'and creates the topics with it');
  return partitions;
}

for (const overlay of OVERLAYS) {
  describe(`deploy/k8s ${overlay} overlay: guarantees`, () => {
    const objects = rendered(overlay);
    const deployment = (service: AppService) => find<Workload>(objects, 'Deployment', service);

    it('runs the three services as Deployments, and PostgreSQL, Redis and Kafka nowhere in the cluster', () => {
      assert.deepEqual(
        ofKind(objects, 'Deployment')
          .map((d) => d.metadata.name)
          .sort(),
        [...APP_SERVICES].sort(),
      );
      for (const kind of ['StatefulSet', 'PersistentVolumeClaim', 'DaemonSet']) assert.deepEqual(ofKind(objects, kind), [], kind);
      for (const w of [...ofKind<Workload>(objects, 'Deployment'), ...ofKind<Workload>(objects, 'Job')]) {
        for (const c of containersOf(w))
          assert.doesNotMatch(c.image, /^(postgres|redis|bitnami|confluentinc)/, `${w.metadata.name} runs ${c.image}`);
      }
    });

    for (const service of APP_SERVICES) {
      it(`${service} is ready on /health/ready and alive on /health/live, on the port it listens on`, () => {
        const c = mainContainer(objects, service);
        const port = Number(configMapData(objects, service).PORT);
        assert.equal(c.readinessProbe?.httpGet?.path, '/health/ready');
        assert.equal(c.livenessProbe?.httpGet?.path, '/health/live');
        assert.equal(containerPort(c, c.readinessProbe.httpGet.port), port);
        assert.equal(containerPort(c, c.livenessProbe.httpGet.port), port);
        if (c.startupProbe)
          assert.equal(c.startupProbe.httpGet?.path, '/health/live', 'startup waits for the process, not its dependencies');
        const svc = find(objects, 'Service', service) as unknown as {
          spec: { selector: Record<string, string>; ports: Array<{ port: number; targetPort: string | number }> };
        };
        assert.ok(selects({ matchLabels: svc.spec.selector }, podLabels(deployment(service))), 'its Service selects its pods');
        assert.equal(containerPort(c, svc.spec.ports[0]!.targetPort), port);
      });

      it(`${service}'s termination grace covers its preStop pause and its whole drain`, () => {
        const spec = deployment(service).spec.template.spec;
        const preStop = mainContainer(objects, service).lifecycle?.preStop?.sleep?.seconds ?? 0;
        const grace = spec.terminationGracePeriodSeconds ?? 30;
        assert.ok(grace > preStop + drainSeconds(service), `grace ${grace} s > preStop ${preStop} s + drain ${drainSeconds(service)} s`);
        if (service !== 'order-stream-process') {
          assert.ok(preStop >= 3, 'a Service-routed pod keeps serving while its endpoint is removed everywhere');
        }
      });
    }

    it('every container has CPU and memory requests and limits, requests within limits', () => {
      for (const w of [...ofKind<Workload>(objects, 'Deployment'), ...ofKind<Workload>(objects, 'Job')]) {
        for (const c of containersOf(w)) {
          for (const r of ['cpu', 'memory']) {
            const request = c.resources?.requests?.[r];
            const limit = c.resources?.limits?.[r];
            assert.ok(request && limit, `${w.metadata.name}/${c.name} sets ${r} request and limit`);
            assert.ok(quantity(request) <= quantity(limit), `${w.metadata.name}/${c.name} ${r} request ${request} <= limit ${limit}`);
          }
        }
      }
    });

    it('every container runs as a numeric non-root user with a read-only root filesystem and no privileges', () => {
      for (const w of [...ofKind<Workload>(objects, 'Deployment'), ...ofKind<Workload>(objects, 'Job')]) {
        const pod = w.spec.template.spec;
        assert.equal(pod.securityContext?.runAsNonRoot, true, `${w.metadata.name} runAsNonRoot`);
        // The images say `USER node` / `USER appuser`: the kubelet can verify non-root only for a number.
        assert.ok((pod.securityContext?.runAsUser ?? 0) > 0, `${w.metadata.name} names a non-zero uid`);
        assert.equal(pod.securityContext?.seccompProfile?.type, 'RuntimeDefault');
        assert.equal(pod.automountServiceAccountToken, false, `${w.metadata.name} needs no API token`);
        assert.ok(!pod.hostNetwork);
        for (const c of containersOf(w)) {
          const sc = c.securityContext;
          assert.equal(sc?.readOnlyRootFilesystem, true, `${w.metadata.name}/${c.name} readOnlyRootFilesystem`);
          assert.equal(sc?.allowPrivilegeEscalation, false, `${w.metadata.name}/${c.name} allowPrivilegeEscalation`);
          assert.deepEqual(sc?.capabilities?.drop, ['ALL']);
          assert.ok(!sc?.capabilities?.add?.length && !sc?.privileged);
          const tmp = c.volumeMounts?.find((m) => m.mountPath === '/tmp');
          assert.ok(
            tmp && pod.volumes?.find((v) => v.name === tmp.name)?.emptyDir,
            `${w.metadata.name}/${c.name} writes only to an emptyDir /tmp`,
          );
        }
      }
    });

    it('the namespace enforces the restricted Pod Security Standard', () => {
      const [ns] = ofKind(objects, 'Namespace');
      assert.ok(ns);
      assert.equal(ns.metadata.labels?.['pod-security.kubernetes.io/enforce'], 'restricted');
      for (const o of objects)
        if (o.kind !== 'Namespace') assert.equal(o.metadata.namespace, ns.metadata.name, `${o.kind}/${o.metadata.name}`);
    });

    it('the api and the data-api are autoscaled from at least 2 replicas, and nothing else fixes their count', () => {
      for (const service of ['order-manage-api', 'order-manage-data-api'] as const) {
        const hpa = hpaFor(objects, service);
        assert.ok(hpa, `${service} has a HorizontalPodAutoscaler`);
        assert.ok((hpa.spec.minReplicas ?? 1) >= 2, `${service} minReplicas`);
        assert.ok(hpa.spec.maxReplicas > (hpa.spec.minReplicas ?? 1));
        assert.equal(deployment(service).spec.replicas, undefined, `${service}'s Deployment leaves replicas to the HPA`);
      }
    });

    it("the stream processor runs at least 2 replicas and never more than the topic's partitions", () => {
      const partitions = topicPartitions(objects);
      assert.ok(partitions >= 3, 'docs/spec.md section 5: at least 3 partitions');
      assert.equal(hpaFor(objects, 'order-stream-process'), undefined, 'not autoscaled: Shopify, not CPU, bounds it');
      const replicas = deployment('order-stream-process').spec.replicas ?? 1;
      const surge = Number(deployment('order-stream-process').spec.strategy?.rollingUpdate?.maxSurge ?? 0);
      assert.ok(replicas >= 2, 'one pod lost is a rebalance, not an outage');
      assert.ok(replicas + surge <= partitions, `${replicas} replicas + ${surge} surge <= ${partitions} partitions`);
    });

    it("the data-api at its maximum, mid-rollout, fits in PostgreSQL's max_connections", () => {
      const hpa = hpaFor(objects, 'order-manage-data-api')!;
      const surge = Number(deployment('order-manage-data-api').spec.strategy?.rollingUpdate?.maxSurge);
      assert.ok(Number.isInteger(surge), 'maxSurge is a pod count, so it can be counted');
      const pool = Number(configMapData(objects, 'order-manage-data-api').DB_POOL_MAX);
      // One pool per replica plus the outbox relay's LISTEN session; the api and the stream hold none.
      const connections = (hpa.spec.maxReplicas + surge) * (pool + 1) + MIGRATION_JOB_CONNECTIONS;
      assert.ok(connections <= POSTGRES_MAX_CONNECTIONS - POSTGRES_SUPERUSER_RESERVED, `${connections} connections`);
    });

    it('every Deployment has a disruption budget that lets a node drain evict one pod while another keeps serving', () => {
      for (const service of APP_SERVICES) {
        const budgets = ofKind<Pdb>(objects, 'PodDisruptionBudget').filter((p) => selects(p.spec.selector, podLabels(deployment(service))));
        assert.equal(budgets.length, 1, `${service} has one PodDisruptionBudget`);
        const least = hpaFor(objects, service)?.spec.minReplicas ?? deployment(service).spec.replicas ?? 1;
        const maxUnavailable = budgets[0]!.spec.maxUnavailable;
        assert.equal(typeof maxUnavailable, 'number', `${service} budget counts pods`);
        assert.ok(
          (maxUnavailable as number) >= 1 && least - (maxUnavailable as number) >= 1,
          `${service}: ${least} replicas, ${String(maxUnavailable)} may go`,
        );
      }
    });

    it("the data-api accepts connections from the api pods and the stream processor's (which reads the database's stock), and from nothing else", () => {
      const clients = ['order-manage-api', 'order-stream-process'];
      const dataApiPods = podLabels(deployment('order-manage-data-api'));
      const policies = ofKind<NetPol>(objects, 'NetworkPolicy').filter((p) => selects(p.spec.podSelector, dataApiPods));
      assert.ok(
        policies.some((p) => p.spec.policyTypes?.includes('Ingress')),
        'an Ingress policy selects the data-api, so unlisted traffic is denied',
      );
      const peers = policies.flatMap((p) => (p.spec.ingress ?? []).map((rule) => rule.from));
      assert.ok(peers.length > 0, 'some rule lets its clients in');
      const admitted = new Set<string>();
      for (const from of peers) {
        assert.ok(from?.length, 'no rule admits every source');
        for (const peer of from) {
          assert.ok(!peer.namespaceSelector && !peer.ipBlock, 'no namespace or address range is admitted');
          for (const w of [...ofKind<Workload>(objects, 'Deployment'), ...ofKind<Workload>(objects, 'Job')]) {
            if (!selects(peer.podSelector, podLabels(w))) continue;
            assert.ok(clients.includes(w.metadata.name), `${w.metadata.name} is not admitted`);
            admitted.add(w.metadata.name);
          }
        }
      }
      assert.deepEqual([...admitted].sort(), clients, 'both clients get in');
    });

    it('a Job applies the migrations (staging: and the demo catalogue) and a Job creates both topics', () => {
      const migrate = find<Workload>(objects, 'Job', 'db-migrate');
      const container = migrate.spec.template.spec.containers[0]!;
      assert.deepEqual(container.command?.slice(-1), ['dist/db/cli.js'], "the image's bundle of db/cli.ts");
      assert.deepEqual(container.args, [overlay === 'staging' ? 'seed' : 'migrate']);
      assert.equal(container.image, mainContainer(objects, 'order-manage-data-api').image, 'the same image as the services');
      const topics = find<Workload>(objects, 'Job', 'kafka-topics').spec.template.spec.containers[0]!;
      assert.match(topics.args?.join('\n') ?? '', /for topic in "\$INVENTORY_TOPIC" "\$DLQ_TOPIC"; do/);
      assert.match(topics.args?.join('\n') ?? '', /--create --if-not-exists/);
      for (const job of [migrate, find<Workload>(objects, 'Job', 'kafka-topics')]) {
        assert.equal(job.spec.template.spec.restartPolicy, 'Never');
        assert.ok((job.spec.backoffLimit ?? 6) > 0, 'a dependency still starting is retried');
        assert.ok(job.spec.ttlSecondsAfterFinished !== undefined, 'a finished Job is removed, so the next apply runs it again');
      }
    });
  });
}
