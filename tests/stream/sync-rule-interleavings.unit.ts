/**
 * The sync rule (services/order-stream-process/src/domain/sync-rule.ts) against a model of Shopify
 * and of the database, over random interleavings: Shopify takes orders first and their webhooks
 * reach the database late and shuffled; the relay publishes some events twice; the processor reads
 * batches of any size, and its read-decide-write of the confirm step is cut by Shopify's own moves
 * (a stale compare-and-set is read and decided again); the system's own movements (restocks,
 * corrections, WMS syncs, an import) are mixed in, and the processor crashes between any two of
 * its calls, the batch it held then redelivered from the last committed offset with whatever the
 * log holds by then (so often more events of the item than the first time). The model drives the
 * same pure functions the batch handler does: coalesce, deltaChanges (one call per movement),
 * decideConfirmation, guessConfirmation and expectedShopify (a lowering sent from a guess without
 * a read when the item's last guess was right, read and decided again when stale), and the two
 * request builders whose idempotency keys Shopify's model honours.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { coalesce, type ItemEvents } from '../../services/order-stream-process/src/domain/coalesce.js';
import type { InventoryEvent, MovementReason } from '../../services/order-stream-process/src/domain/event.js';
import { buildAdjustRequest, buildCompareAndSetRequest, movementsUri } from '../../services/order-stream-process/src/domain/mutation.js';
import {
  decideConfirmation,
  deltaChanges,
  expectedShopify,
  guessConfirmation,
  holdsImport,
  type Confirmation,
  type DeltaChange,
} from '../../services/order-stream-process/src/domain/sync-rule.js';
import { exampleInventoryEvent } from '../support/inventory-event.js';

const MAX_ROUNDS = 5;

/** Across the runs: how often a compare-and-set was stale, and how often a figure moved for every round. */
const tally = { stale: 0, deadLettered: 0, guessesRight: 0, guessesStale: 0 };

/** A write of the system to Shopify, as the model of Shopify saw it. */
interface SystemWrite {
  kind: 'adjust' | 'lower' | 'import' | 'reconcile';
  before: number;
  after: number;
  /** For an adjust: the delta of the movement it carried. */
  carried?: number;
}

const ONE_MOVEMENT = /^gid:\/\/order-intake\/InventoryMovement\/(\d+)$/;

/** Shopify's side: its `available` for the one item, its own moves, and the @idempotent keys it has seen. */
class ShopifyModel {
  readonly writes: SystemWrite[] = [];
  /** How many times each movement was applied, by the movement the call names. */
  readonly appliedMovements = new Map<string, number>();
  private readonly answers = new Map<string, 'ok' | 'stale'>();
  private readonly adjustments = new Map<string, string>();

  constructor(public available: number) {}

  /**
   * A delta: applied once per key. A key seen again must come with the same variables (Shopify
   * answers IDEMPOTENCY_KEY_PARAMETER_MISMATCH otherwise), and is answered without applying anything.
   */
  adjust(request: ReturnType<typeof buildAdjustRequest>, movementDeltas: ReadonlyMap<string, number>): void {
    const { idempotencyKey, input } = request.variables;
    const variables = JSON.stringify(request.variables);
    const seen = this.adjustments.get(idempotencyKey);
    if (seen !== undefined) {
      assert.equal(variables, seen, 'a key seen again comes with the same variables');
      return;
    }
    this.adjustments.set(idempotencyKey, variables);
    const movementId = ONE_MOVEMENT.exec(input.referenceDocumentUri)?.[1];
    assert.ok(movementId, `a delta call names its one movement: ${input.referenceDocumentUri}`);
    assert.equal(input.changes.length, 1, 'one movement per call');
    const before = this.available;
    for (const change of input.changes) this.available += change.delta;
    this.appliedMovements.set(movementId, (this.appliedMovements.get(movementId) ?? 0) + 1);
    this.writes.push({ kind: 'adjust', before, after: this.available, carried: movementDeltas.get(movementId)! });
  }

  /** A compare-and-set: applies nothing, and says so, when Shopify holds another figure. */
  set(request: ReturnType<typeof buildCompareAndSetRequest>, kind: 'lower' | 'import' | 'reconcile'): 'ok' | 'stale' {
    const { idempotencyKey, input } = request.variables;
    const seen = this.answers.get(idempotencyKey);
    if (seen) return seen;
    const [quantity] = input.quantities;
    if (quantity!.changeFromQuantity !== this.available) {
      tally.stale += 1;
      this.answers.set(idempotencyKey, 'stale');
      return 'stale';
    }
    this.answers.set(idempotencyKey, 'ok');
    this.writes.push({ kind, before: this.available, after: quantity!.quantity });
    this.available = quantity!.quantity;
    return 'ok';
  }
}

/** The database's side: the variant's figure and version, and the events it publishes (the Kafka log). */
class DatabaseModel {
  readonly log: InventoryEvent[] = [];
  readonly deltas = new Map<string, number>();
  private movements = 0;

  constructor(
    public available: number,
    public version: number,
  ) {}

  /** One movement and its event; refused (false) when it would leave less than zero. */
  move(reason: MovementReason, delta: number, shopifyKnows: boolean, orderId: string | null = null): boolean {
    if (delta === 0 || this.available + delta < 0) return false;
    this.available += delta;
    this.version += 1;
    const movementId = String(1000 + ++this.movements);
    this.deltas.set(movementId, delta);
    this.log.push(
      exampleInventoryEvent({
        eventId: randomUUID(),
        movementId,
        reason,
        reference: orderId ?? `key-${movementId}`,
        orderId,
        delta,
        availableAfter: this.available,
        inventoryVersion: this.version,
        shopifyKnows,
      }),
    );
    return true;
  }
}

type Phase = 'deltas' | 'readDatabase' | 'readShopify' | 'write' | 'done';

interface BatchInHand {
  size: number;
  item?: ItemEvents;
  /** The item's movements Shopify cannot know still to send, one call each. */
  deltas: DeltaChange[];
  phase: Phase;
  round: number;
  bringToDatabase: boolean;
  database?: { availableQuantity: number; version: number };
  decision?: Confirmation;
  /** The write compares from a guess, not from a read. */
  guessed?: boolean;
}

/** The stream processor, one step at a time, so the world can move between its reads and its write. */
class ProcessorModel {
  committed = 0;
  readonly dead: InventoryEvent[] = [];
  private handled = new Set<string>();
  private importsPending = false;
  /** Whether the item's last guess of Shopify's figure was right (absent: read first). */
  private lastGuessRight: boolean | undefined;
  private batch?: BatchInHand;

  constructor(
    private readonly shopify: ShopifyModel,
    private readonly db: DatabaseModel,
  ) {}

  get idle(): boolean {
    return !this.batch && this.committed >= this.db.log.length;
  }

  /**
   * A crash, between any two calls: the batch in hand was not committed and is consumed again from
   * the committed offset, as the next step's batch (of its own size, holding whatever the log holds
   * by then: often more events of the item than the first time); memory is lost.
   */
  restart(): void {
    this.batch = undefined;
    this.handled = new Set();
    this.importsPending = false;
    this.lastGuessRight = undefined;
  }

  step(batchSize: number): void {
    if (!this.batch) {
      if (this.committed >= this.db.log.length) return;
      this.batch = this.take(batchSize);
    }
    const batch = this.batch;
    if (batch.phase === 'deltas') return this.applyDelta(batch);
    if (batch.phase === 'readDatabase') return this.readDatabase(batch);
    if (batch.phase === 'readShopify') return this.decide(batch);
    if (batch.phase === 'write') return this.write(batch);
    this.finish(batch);
  }

  /** The next messages from the committed offset, redeliveries of handled events set aside. */
  private take(size: number): BatchInHand {
    const messages = this.db.log.slice(this.committed, this.committed + size);
    const seen = new Set<string>();
    const events = messages.filter((e) => !this.handled.has(e.eventId) && !seen.has(e.eventId) && seen.add(e.eventId));
    const item = coalesce(events)[0];
    return { size: messages.length, item, deltas: item ? deltaChanges(item) : [], phase: 'deltas', round: 1, bringToDatabase: false };
  }

  /** One delta call a step, so a crash may come between two of them. */
  private applyDelta(batch: BatchInHand): void {
    const change = batch.deltas.shift();
    if (change) this.shopify.adjust(buildAdjustRequest(change), this.db.deltas);
    if (batch.deltas.length > 0) return;
    batch.phase = batch.item ? 'readDatabase' : 'done';
  }

  /** The database first, then Shopify: two reads the world may come between. */
  private readDatabase(batch: BatchInHand): void {
    if (batch.round > MAX_ROUNDS) {
      this.dead.push(...batch.item!.events);
      batch.phase = 'done';
      return;
    }
    batch.database = { availableQuantity: this.db.available, version: this.db.version };
    batch.bringToDatabase = holdsImport(batch.item!) || this.importsPending;
    // The database has not moved past the batch (else superseded) and the last guess was right: no read.
    const guess =
      batch.database.version > batch.item!.newest.inventoryVersion
        ? undefined
        : guessConfirmation(batch.item!, batch.database, batch.bringToDatabase, this.lastGuessRight);
    batch.guessed = guess !== undefined;
    if (guess) {
      batch.decision = guess;
      batch.phase = 'write';
    } else batch.phase = 'readShopify';
  }

  private decide(batch: BatchInHand): void {
    const expected = expectedShopify(batch.item!, batch.database, batch.bringToDatabase);
    if (expected !== undefined) this.lastGuessRight = expected === this.shopify.available;
    batch.decision = decideConfirmation({
      newest: batch.item!.newest,
      bringToDatabase: batch.bringToDatabase,
      shopify: this.shopify.available,
      database: batch.database,
    });
    batch.phase = batch.decision.action === 'lower' || batch.decision.action === 'set' ? 'write' : 'done';
  }

  private write(batch: BatchInHand): void {
    const { database, action } = batch.decision!;
    const shopify = batch.decision!.shopify!;
    const item = batch.item!;
    const request = buildCompareAndSetRequest(
      [
        {
          inventoryItemId: item.inventoryItemId,
          locationId: item.locationId,
          from: shopify,
          to: database.availableQuantity,
          version: database.version,
        },
      ],
      `confirm-${batch.round}`,
      (key) => movementsUri([item.newest.movementId], key),
    );
    const answer = this.shopify.set(request, action === 'set' ? 'import' : 'lower');
    if (batch.guessed) {
      this.lastGuessRight = answer === 'ok';
      tally[answer === 'ok' ? 'guessesRight' : 'guessesStale'] += 1;
    }
    if (answer === 'stale') {
      batch.round += 1;
      batch.phase = 'readDatabase';
    } else batch.phase = 'done';
  }

  private finish(batch: BatchInHand): void {
    if (batch.item && !this.dead.includes(batch.item.newest)) {
      for (const e of batch.item.events) this.handled.add(e.eventId);
      this.importsPending = batch.decision?.action === 'superseded' ? batch.bringToDatabase : false;
    }
    this.committed += batch.size;
    this.batch = undefined;
  }
}

/** What can happen next, and to whom. */
type Action =
  | { t: 'shopifySale'; k: number }
  | { t: 'webhook'; pick: number }
  | { t: 'systemOrder'; k: number }
  | { t: 'restock'; k: number }
  | { t: 'correction'; k: number }
  | { t: 'wmsSync'; target: number }
  | { t: 'shopifyRestock'; k: number }
  | { t: 'duplicate'; pick: number }
  | { t: 'process'; batch: number }
  | { t: 'restart' };

const sales: fc.Arbitrary<Action>[] = [
  fc.integer({ min: 1, max: 3 }).map((k) => ({ t: 'shopifySale' as const, k })),
  fc.nat().map((pick) => ({ t: 'webhook' as const, pick })),
  fc.integer({ min: 1, max: 2 }).map((k) => ({ t: 'systemOrder' as const, k })),
  fc.nat().map((pick) => ({ t: 'duplicate' as const, pick })),
  fc.integer({ min: 1, max: 4 }).map((batch) => ({ t: 'process' as const, batch })),
  fc.integer({ min: 1, max: 4 }).map((batch) => ({ t: 'process' as const, batch })),
];
const systemMovements: fc.Arbitrary<Action>[] = [
  fc.integer({ min: 1, max: 5 }).map((k) => ({ t: 'restock' as const, k })),
  fc
    .integer({ min: -3, max: 3 })
    .filter((k) => k !== 0)
    .map((k) => ({ t: 'correction' as const, k })),
  fc.integer({ min: 0, max: 25 }).map((target) => ({ t: 'wmsSync' as const, target })),
];
const restart: fc.Arbitrary<Action> = fc.constant({ t: 'restart' as const });
const shopifyRestock: fc.Arbitrary<Action> = fc.integer({ min: 1, max: 2 }).map((k) => ({ t: 'shopifyRestock' as const, k }));

interface World {
  shopify: ShopifyModel;
  db: DatabaseModel;
  processor: ProcessorModel;
  /** Webhooks Shopify sent that the database has not received yet (orders it took, restocks it made). */
  pending: Array<{ reason: 'order' | 'cancel'; k: number; orderId: string }>;
}

function newWorld(shopify: number, database: number, opening: 'in_sync' | 'import'): World {
  const db = new DatabaseModel(opening === 'import' ? 0 : database, opening === 'import' ? 0 : 1);
  if (opening === 'import') db.move('import', database, false);
  const shopifyModel = new ShopifyModel(opening === 'import' ? shopify : database);
  return { shopify: shopifyModel, db, processor: new ProcessorModel(shopifyModel, db), pending: [] };
}

let orders = 0;

function act(world: World, action: Action): void {
  const { shopify, db, processor, pending } = world;
  const inFlight = pending.reduce((n, p) => n + (p.reason === 'order' ? p.k : -p.k), 0);
  switch (action.t) {
    case 'shopifySale': // Shopify takes the units first; the database sees the order when its webhook arrives.
      if (action.k > Math.min(shopify.available, db.available - inFlight)) return;
      shopify.available -= action.k;
      pending.push({ reason: 'order', k: action.k, orderId: String(++orders) });
      return;
    case 'shopifyRestock': // A merchant cancels with restock in Shopify: Shopify puts the units back itself.
      shopify.available += action.k;
      pending.push({ reason: 'cancel', k: action.k, orderId: String(++orders) });
      return;
    case 'webhook': {
      if (pending.length === 0) return;
      const [webhook] = pending.splice(action.pick % pending.length, 1);
      db.move(webhook!.reason, webhook!.reason === 'order' ? -webhook!.k : webhook!.k, true, webhook!.orderId);
      return;
    }
    case 'systemOrder': // An order Shopify did not take (the demo stack's case): the confirm lowers Shopify.
      if (action.k <= db.available - inFlight) db.move('order', -action.k, true, String(++orders));
      return;
    // The system's own movements; never below the units of orders Shopify took whose webhooks are in
    // flight (else the database refuses those orders: an oversell, which this model leaves out).
    case 'restock':
    case 'correction':
      if (db.available + action.k >= inFlight) db.move(action.t, action.k, false);
      return;
    case 'wmsSync':
      if (action.target >= inFlight) db.move('wms_sync', action.target - db.available, false);
      return;
    case 'duplicate': // The relay publishes an event again (at least once).
      if (db.log.length > 0) db.log.push(db.log[action.pick % db.log.length]!);
      return;
    case 'process':
      processor.step(action.batch);
      return;
    case 'restart':
      processor.restart();
  }
}

/** Asserts what every step must keep: no write of the system raised Shopify but by the movements it carried. */
function assertNoUnearnedRaise(world: World, allowed: ReadonlySet<SystemWrite['kind']>): void {
  for (const write of world.shopify.writes) {
    if (write.kind === 'lower') assert.ok(write.after < write.before, `a confirm raised Shopify from ${write.before} to ${write.after}`);
    else if (write.kind === 'adjust')
      assert.equal(write.after - write.before, write.carried, 'an adjustment moved Shopify by its movements only');
    else assert.ok(allowed.has(write.kind), `${write.kind} wrote to Shopify`);
  }
}

/**
 * Every webhook arrives, the dead letters are replayed, and the processor runs until it has nothing
 * left. True when some events had gone to the DLQ (a figure that kept moving for every round).
 */
function settle(world: World): boolean {
  while (world.pending.length > 0) act(world, { t: 'webhook', pick: 0 });
  const dead = world.processor.dead.splice(0);
  if (dead.length > 0) tally.deadLettered += 1;
  world.db.log.push(...dead);
  for (let steps = 0; !world.processor.idle; steps++) {
    assert.ok(steps < 10_000, 'the processor settles');
    world.processor.step(3);
  }
  return dead.length > 0;
}

/** Each movement Shopify cannot know reached it exactly once; the others never as deltas. */
function assertEachDeltaOnce(world: World): void {
  for (const [movementId, delta] of world.db.deltas) {
    const event = world.db.log.find((e) => e.movementId === movementId)!;
    const times = world.shopify.appliedMovements.get(movementId) ?? 0;
    if (event.shopifyKnows || event.reason === 'import') assert.equal(times, 0, `movement ${movementId} (${event.reason}) is not a delta`);
    else assert.equal(times, 1, `delta ${movementId} (${delta}) applied once`);
  }
}

/** `npm run reconcile` for the one item: the database's figure, compare-and-set from the figure read. */
function reconcile(world: World): void {
  const { shopify, db } = world;
  if (shopify.available === db.available) return;
  const request = buildCompareAndSetRequest(
    [{ inventoryItemId: '1', locationId: '1', from: shopify.available, to: db.available, version: db.version }],
    `reconcile-${randomUUID()}`,
    () => 'gid://order-intake/Reconciliation/run',
  );
  assert.equal(shopify.set(request, 'reconcile'), 'ok');
}

describe('the sync rule over random interleavings of Shopify and the system', () => {
  it('while only sales happen, late, shuffled and repeated, across restarts, no call raises Shopify; at rest Shopify equals the database', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 30 }),
        fc.array(fc.oneof(...sales, restart), { maxLength: 80, size: 'max' }),
        (stock, actions) => {
          const world = newWorld(stock, stock, 'in_sync');
          for (const action of actions) {
            act(world, action);
            assertNoUnearnedRaise(world, new Set());
            assert.ok(
              world.shopify.writes.every((w) => w.after <= w.before),
              'no write raised Shopify',
            );
          }
          settle(world);
          assertNoUnearnedRaise(world, new Set());
          assert.equal(world.shopify.available, world.db.available, 'at rest Shopify equals the database');
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('with restocks, corrections, WMS syncs and an import mixed in, each delta applies once and only they and the import raise; at rest Shopify equals the database', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 30 }),
        // A movement is never 0: a variant imported without stock has no import movement (and no event).
        fc.integer({ min: 1, max: 30 }),
        fc.array(fc.oneof(...sales, ...systemMovements), { maxLength: 80, size: 'max' }),
        (shopifyBefore, imported, actions) => {
          const world = newWorld(shopifyBefore, imported, 'import');
          for (const action of actions) {
            act(world, action);
            assertNoUnearnedRaise(world, new Set(['import']));
          }
          // A figure that moved between every read and write sends its events to the DLQ; their replay
          // confirms what it can, and reconciliation the rest (an import superseded meanwhile).
          const allowed = new Set<SystemWrite['kind']>(['import']);
          if (settle(world)) {
            reconcile(world);
            allowed.add('reconcile');
          }
          assertNoUnearnedRaise(world, allowed);
          assertEachDeltaOnce(world);
          assert.equal(world.shopify.available, world.db.available, 'at rest Shopify equals the database');
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('a batch redelivered after a crash with more events for the same item than the first time applies each movement exactly once', () => {
    const world = newWorld(10, 10, 'in_sync');
    act(world, { t: 'restock', k: 5 }); // movement A
    act(world, { t: 'process', batch: 1 }); // a batch of A alone: its delta reaches Shopify (15)
    assert.equal(world.shopify.available, 15);
    act(world, { t: 'restart' }); // a crash before the offset commit: A comes again
    act(world, { t: 'restock', k: 3 }); // B
    act(world, { t: 'correction', k: -2 }); // C
    act(world, { t: 'systemOrder', k: 1 }); // an order Shopify did not take
    const [a, b, c] = [...world.db.deltas.keys()];
    // The redelivered batch holds A, B, C and the order: one call per movement, A's under its first key.
    settle(world);
    assert.deepEqual(
      [a, b, c].map((id) => world.shopify.appliedMovements.get(id!)),
      [1, 1, 1],
    );
    assert.deepEqual(
      world.shopify.writes.map((w) => [w.kind, w.before, w.after]),
      [
        ['adjust', 10, 15],
        ['adjust', 15, 18],
        ['adjust', 18, 16],
        ['lower', 16, 15],
      ],
    );
    assert.equal(world.db.available, 15);
    assert.equal(world.shopify.available, 15);
  });

  it('across crashes at any point, each redelivered with whatever the log holds by then, each delta applies once; at rest Shopify equals the database', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 30 }),
        fc.array(fc.oneof(...sales, ...systemMovements, ...systemMovements, restart), { maxLength: 80, size: 'max' }),
        (stock, actions) => {
          const world = newWorld(stock, stock, 'in_sync');
          for (const action of actions) {
            act(world, action);
            assertNoUnearnedRaise(world, new Set());
          }
          const allowed = new Set<SystemWrite['kind']>();
          if (settle(world)) {
            reconcile(world);
            allowed.add('reconcile');
          }
          assertNoUnearnedRaise(world, allowed);
          assertEachDeltaOnce(world);
          assert.equal(world.shopify.available, world.db.available, 'at rest Shopify equals the database');
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('a restock made in Shopify whose webhook is in flight while an order is confirmed may be lowered away; Shopify stays at or below the database, and reconciliation repairs it', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 30 }),
        fc.array(fc.oneof(...sales, ...systemMovements, shopifyRestock), { maxLength: 80, size: 'max' }),
        (stock, actions) => {
          const world = newWorld(stock, stock, 'in_sync');
          for (const action of actions) {
            act(world, action);
            assertNoUnearnedRaise(world, new Set());
          }
          settle(world);
          assert.ok(world.shopify.available <= world.db.available, 'never above the database at rest');
          reconcile(world);
          assertNoUnearnedRaise(world, new Set(['reconcile']));
          assert.equal(world.shopify.available, world.db.available);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('a lowering is sent from a right guess; a stale guess applies nothing and is read and decided again', () => {
    const world = newWorld(10, 10, 'in_sync');
    act(world, { t: 'systemOrder', k: 1 });
    settle(world); // no memory yet: read (10), lower to 9; the guess (10) would have been right
    act(world, { t: 'systemOrder', k: 2 });
    settle(world); // guessed 9 → 7, right
    const staleBefore = tally.guessesStale;
    act(world, { t: 'shopifySale', k: 1 }); // Shopify takes an order of its own: 6, its webhook in flight
    act(world, { t: 'systemOrder', k: 1 });
    settle(world);
    assert.equal(tally.guessesStale, staleBefore + 1, 'the third batch guessed, stale');
    assert.deepEqual(
      world.shopify.writes.map((w) => [w.kind, w.before, w.after]),
      [
        ['lower', 10, 9],
        ['lower', 9, 7],
        // The batch holds Shopify's sale (its webhook) and the system's order: it guessed 7 → 5 and was
        // stale (Shopify held 6), so it read 6 and lowered by the system's order only.
        ['lower', 6, 5],
      ],
    );
    assert.equal(world.shopify.available, 5);
    assert.equal(world.db.available, 5);
  });

  it('the interleavings did cut read-decide-writes: stale compare-and-sets were read and decided again; guesses were both right and stale', (t) => {
    t.diagnostic(
      `stale compare-and-sets: ${tally.stale}; runs with items dead-lettered after ${MAX_ROUNDS} rounds: ${tally.deadLettered}; guesses right: ${tally.guessesRight}, stale: ${tally.guessesStale}`,
    );
    assert.ok(
      tally.stale > 0,
      `stale compare-and-sets: ${tally.stale}, items dead-lettered after ${MAX_ROUNDS} rounds: ${tally.deadLettered}`,
    );
    assert.ok(tally.guessesRight > 0 && tally.guessesStale > 0, `guesses right: ${tally.guessesRight}, stale: ${tally.guessesStale}`);
  });
});
