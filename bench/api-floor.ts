/**
 * The floor for bench/api-alone.ts: the exchanges order-manage-api makes for one accepted 3-line
 * order, with none of its work around them. Per request: read the body, parse it, POST its lines
 * for resolution, GET the Redis hold key, GET the three resolved SKUs from the WMS at once, POST the
 * commit, answer 201. Calls go through the same undici pool (`httpRequest`) and the same Redis
 * client as the api's.
 */
import http from 'node:http';
// The module itself, not @oms/common's index, so the bundle holds nothing the floor does not run.
import { httpRequest } from '../services/common/src/http.js';
import { Redis } from 'ioredis';

const standIn = process.env.STAND_IN_URL!;
const redis = new Redis(process.env.REDIS_URL!, { enableAutoPipelining: true });
const post = (path: string, body: unknown) =>
  httpRequest(`${standIn}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    timeoutMs: 5_000,
  });

interface Line {
  id: number;
  product_id: number;
  variant_id: number | null;
  sku: string;
  quantity: number;
}

const server = http.createServer((req, res) => {
  if (req.url === '/health/live') return void res.end('{"status":"up"}');
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', async () => {
    const order = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { id: number; line_items: Line[] };
    const lines = order.line_items.map((l) => ({
      lineItemId: String(l.id),
      productId: String(l.product_id),
      variantId: l.variant_id === null ? null : String(l.variant_id),
      sku: l.sku,
    }));
    const resolved = JSON.parse((await post('/internal/variants/resolve', { orderId: String(order.id), lines })).text) as {
      resolved: Array<{ lineItemId: string; variantId: string; sku: string }>;
    };
    await redis.get('wms:hold');
    await Promise.all(
      resolved.resolved.map((r) => httpRequest(`${standIn}/api/v1/inventory/${encodeURIComponent(r.sku)}`, { timeoutMs: 5_000 })),
    );
    await post('/internal/orders', { order: { orderId: String(order.id) }, lines: order.line_items });
    res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'success', order_id: String(order.id) }));
  });
});
server.listen(Number(process.env.PORT), '127.0.0.1');
process.once('SIGTERM', () => {
  server.close();
  redis.disconnect();
});
