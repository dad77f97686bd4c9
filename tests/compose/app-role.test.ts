/**
 * docker compose runs the data-api as `orders_app`, a role that is not a superuser
 * (deploy/compose/orders-app-role.sql), while the seed job migrates as the superuser. No Docker
 * engine runs here, so the script runs as PostgreSQL's image would run it (psql, as the superuser,
 * on a fresh database), against the local stack's PostgreSQL; then the migrations and the demo
 * catalogue are loaded as the superuser, as the `seed` job does, and the data-api's bundle takes an
 * order connected as orders_app.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { parse } from 'yaml';
import { DEMO_CATALOGUE, DEMO_LOCATION_ID } from '../../db/catalogue.js';
import { waitFor } from '../support/eventually.js';
import { REPO_ROOT, stackEnv } from '../support/stack-env.js';
import { freePort, spawnService, type RunningService } from '../stack/support.js';

const SCRIPT = path.join(REPO_ROOT, 'deploy', 'compose', 'orders-app-role.sql');
const compose = parse(readFileSync(path.join(REPO_ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<string, { environment?: Record<string, string>; volumes?: string[] }>;
};

const superuserUrl = new URL(stackEnv().DATABASE_URL);
const database = `compose_role_${randomBytes(4).toString('hex')}`;
const password = randomBytes(12).toString('hex');
const urlOf = (user: string, pass?: string) => {
  const u = new URL(superuserUrl);
  u.username = user;
  u.password = pass ?? '';
  u.pathname = `/${database}`;
  return u.toString();
};

async function asRole(url: string, sql: string): Promise<{ rows: Array<Record<string, unknown>> } | { code: string }> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return { rows: (await client.query(sql)).rows as Array<Record<string, unknown>> };
  } catch (err) {
    return { code: (err as { code: string }).code };
  } finally {
    await client.end();
  }
}

describe("docker compose's data-api role", () => {
  let admin: pg.Client;
  let roleExisted = false;
  let dataApi: RunningService | undefined;

  before(async () => {
    admin = new pg.Client({ connectionString: superuserUrl.toString() });
    await admin.connect();
    roleExisted = (await admin.query(`SELECT 1 FROM pg_roles WHERE rolname = 'orders_app'`)).rowCount === 1;
    await admin.query(`CREATE DATABASE ${database}`);
  });

  after(async () => {
    dataApi?.child.kill('SIGKILL');
    await dataApi?.exited;
    await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    if (!roleExisted) await admin.query('DROP ROLE IF EXISTS orders_app');
    await admin.end();
  });

  it("is what compose mounts into PostgreSQL's init directory, with the password the data-api's URL carries", () => {
    const postgres = compose.services.postgres!;
    assert.ok(postgres.volumes?.includes('./deploy/compose/orders-app-role.sql:/docker-entrypoint-initdb.d/10-orders-app-role.sql:ro'));
    const fallback = (v: string) => v.replace(/\$\{[A-Z0-9_]+:-([^}]*)\}/g, (_m, f: string) => f);
    const url = new URL(fallback(compose.services['order-manage-data-api']!.environment!.DATABASE_URL!));
    assert.equal(url.username, 'orders_app');
    assert.equal(decodeURIComponent(url.password), fallback(postgres.environment!.ORDERS_APP_PASSWORD!));
    assert.equal(new URL(fallback(compose.services.seed!.environment!.DATABASE_URL!)).username, postgres.environment!.POSTGRES_USER);
  });

  it('creates a login role that is not a superuser and cannot create roles, databases or schema objects', async () => {
    // As docker-entrypoint.sh runs an init script: psql, ON_ERROR_STOP, as the superuser, on POSTGRES_DB. Twice: it is idempotent.
    for (let run = 0; run < 2; run++) {
      execFileSync(
        'psql',
        ['-v', 'ON_ERROR_STOP=1', '-q', '-d', urlOf(superuserUrl.username, decodeURIComponent(superuserUrl.password)), '-f', SCRIPT],
        {
          env: { ...process.env, ORDERS_APP_PASSWORD: password },
          stdio: 'pipe',
        },
      );
    }
    const role = (
      await admin.query(
        `SELECT rolcanlogin, rolsuper, rolcreaterole, rolcreatedb, rolreplication, rolbypassrls FROM pg_roles WHERE rolname = 'orders_app'`,
      )
    ).rows;
    assert.deepEqual(role, [
      { rolcanlogin: true, rolsuper: false, rolcreaterole: false, rolcreatedb: false, rolreplication: false, rolbypassrls: false },
    ]);

    // The seed job: migrations and the demo catalogue, as the superuser.
    execFileSync(process.execPath, ['--import', 'tsx', 'db/cli.ts', 'seed'], {
      cwd: REPO_ROOT,
      env: { ...process.env, DATABASE_URL: urlOf(superuserUrl.username, decodeURIComponent(superuserUrl.password)) },
      stdio: 'pipe',
    });

    const app = urlOf('orders_app', password);
    assert.deepEqual(await asRole(app, 'CREATE TABLE intruder (id int)'), { code: '42501' }, 'no CREATE on schema public');
    assert.deepEqual(await asRole(app, 'DROP TABLE orders'), { code: '42501' }, 'the superuser owns the tables');
    assert.deepEqual(await asRole(app, 'DELETE FROM orders'), { code: '42501' });
    assert.deepEqual(await asRole(app, 'TRUNCATE outbox_event'), { code: '42501' });
    assert.deepEqual(await asRole(app, 'CREATE ROLE intruder'), { code: '42501' });
    assert.deepEqual(await asRole(app, `SELECT count(*)::int AS n FROM inventory`), { rows: [{ n: DEMO_CATALOGUE.length }] });
  });

  it('is enough for the data-api: ready on PostgreSQL, and an order commits, decrementing the stock', async () => {
    const port = await freePort();
    const token = randomBytes(16).toString('hex');
    dataApi = spawnService('order-manage-data-api', {
      PORT: String(port),
      DATABASE_URL: urlOf('orders_app', password),
      // No Kafka: the outbox keeps the event, and readiness follows PostgreSQL alone.
      KAFKA_BROKERS: `127.0.0.1:${await freePort()}`,
      READINESS_REQUIRES_KAFKA: 'false',
      INTERNAL_API_TOKEN: token,
    });
    const base = `http://127.0.0.1:${port}`;
    const ready = await waitFor(
      'the data-api to be ready on PostgreSQL',
      async () => {
        const res = await fetch(`${base}/health/ready`).catch(() => undefined);
        return res?.status === 200 ? ((await res.json()) as { dependencies: Record<string, unknown> }) : undefined;
      },
      60_000,
    );
    assert.deepEqual(ready.dependencies.postgres, { status: 'up' });

    const variant = DEMO_CATALOGUE[0]!;
    const orderId = String(randomInt(1, 2 ** 47));
    const res = await fetch(`${base}/internal/orders`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        order: {
          orderId,
          orderNumber: 1001,
          name: '#1001',
          customerId: null,
          currency: 'USD',
          totalPrice: '49.80',
          financialStatus: 'paid',
          createdAt: new Date().toISOString(),
          webhookId: `compose-role-${orderId}`,
          eventId: `compose-role-${orderId}`,
          locationId: String(DEMO_LOCATION_ID),
        },
        lines: [
          {
            lineItemId: String(randomInt(1, 2 ** 47)),
            productId: String(variant.productId),
            variantId: String(variant.variantId),
            sku: variant.sku,
            title: variant.title,
            quantity: 2,
            price: variant.price,
          },
        ],
      }),
    });
    const body = await res.text();
    assert.equal(res.status, 201, body);
    assert.deepEqual(
      (JSON.parse(body) as { items: Array<{ variantId: string; availableAfter: number }> }).items.map((i) => [
        i.variantId,
        i.availableAfter,
      ]),
      [[String(variant.variantId), variant.availableQuantity - 2]],
    );
  });
});
