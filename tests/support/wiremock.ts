import { DelayType, WireMock } from 'wiremock-captain';
import { stackEnv } from './stack-env.js';

/**
 * WireMock is shared with every other test running at the same time: add stubs and remove your
 * own (never reset globally), and read the journal only for your own random SKUs and items.
 */
export function wiremock(): WireMock {
  return new WireMock(stackEnv().WIREMOCK_URL);
}

export type WmsStub = { availableQuantity: number; delayMs?: number } | { status: number; delayMs?: number } | { delayMs: number };

const inventoryPath = (sku: string) => `/api/v1/inventory/${encodeURIComponent(sku)}`;

/**
 * Programs the WMS answer for one SKU (above any default mapping) and returns its remover.
 * `{ delayMs }` alone answers plenty of stock, late.
 */
export async function stubWmsInventory(sku: string, stub: WmsStub): Promise<() => Promise<void>> {
  const mock = wiremock();
  const status = 'status' in stub ? stub.status : 200;
  const available = 'availableQuantity' in stub ? stub.availableQuantity : 1_000;
  const body =
    status === 200
      ? {
          sku,
          availableQuantity: available,
          reservedQuantity: 0,
          totalQuantity: available,
          locationId: 'WH-TEST-1',
          lastUpdated: new Date().toISOString(),
        }
      : { error: status === 404 ? 'SKU not found' : 'WMS failure' };
  const mapping = await mock.register(
    { method: 'GET', endpoint: inventoryPath(sku) },
    { status, headers: { 'Content-Type': 'application/json' }, body },
    {
      stubPriority: 1,
      ...(stub.delayMs ? { responseDelay: { type: DelayType.FIXED, constantDelay: stub.delayMs } } : {}),
    },
  );
  const id = (mapping as { id?: string }).id;
  return async () => {
    if (id) await mock.deleteMapping(id).catch(() => undefined);
  };
}

export interface JournalRequest {
  url: string;
  method: string;
  headers: Record<string, string>;
  loggedDate: number;
}

/** Requests WireMock received for this SKU's WMS inventory, oldest first. */
export async function wmsRequestsFor(sku: string): Promise<JournalRequest[]> {
  const response = await fetch(`${stackEnv().WIREMOCK_URL}/__admin/requests/find`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ method: 'GET', url: inventoryPath(sku) }),
    signal: AbortSignal.timeout(5_000),
  });
  if (!response.ok) throw new Error(`WireMock journal answered ${response.status}`);
  const { requests } = (await response.json()) as { requests: JournalRequest[] };
  return requests.sort((a, b) => a.loggedDate - b.loggedDate);
}
