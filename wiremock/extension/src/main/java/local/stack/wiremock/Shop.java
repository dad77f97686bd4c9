package local.stack.wiremock;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.LongSupplier;

/**
 * What Shopify keeps for the stand-in's one shop: inventory levels (available per inventory item
 * and location, with every change), the catalogue, webhook subscriptions and the idempotency keys
 * of the mutations it ran. Every method holds the shop's lock, so a whole mutation is atomic; a
 * caller that must do several steps as one (check a key, apply, remember the answer) holds it too
 * with {@code synchronized (shop)}. Nothing here is proportional to the state on the hot path.
 */
final class Shop {
  /** Shopify's demo location, always known to {@code location(id:)}. */
  static final long DEMO_LOCATION_ID = 65_432_109_876L;
  static final int MAX_QUANTITIES = 250;
  static final int IDEMPOTENCY_KEYS_KEPT = 100_000;
  /** A level keeps its newest changes up to this many; older ones are dropped (a long benchmark). */
  static final int HISTORY_KEPT = 100_000;
  static final long SET_LIMIT = 1_000_000_000L;
  static final long ADJUST_LIMIT = 2_000_000_000L;
  static final Set<String> REASONS =
      Set.of(
          "correction", "cycle_count_available", "damaged", "movement_canceled", "movement_created", "movement_received",
          "movement_updated", "other", "promotion", "quality_control", "received", "reservation_created",
          "reservation_deleted", "reservation_updated", "restock", "safety_stock", "shrinkage");
  static final List<String> TOPICS = List.of("ORDERS_CREATE", "ORDERS_CANCELLED", "REFUNDS_CREATE");

  enum Cause { seed, order, restock, set, adjust }

  record Change(long available, long delta, Cause cause, long atMillis, String reason, String referenceDocumentUri) {}

  static final class Level {
    final long inventoryItemId;
    final long locationId;
    private long available;
    private long updatedAtMillis;
    private final ArrayDeque<Change> history = new ArrayDeque<>(4);

    Level(long inventoryItemId, long locationId) {
      this.inventoryItemId = inventoryItemId;
      this.locationId = locationId;
    }

    long available() {
      return available;
    }

    long updatedAtMillis() {
      return updatedAtMillis;
    }

    List<Change> history() {
      return new ArrayList<>(history);
    }

    private void change(long newAvailable, Cause cause, long at, String reason, String referenceDocumentUri) {
      long delta = newAvailable - available;
      available = newAvailable;
      updatedAtMillis = at;
      if (history.size() >= HISTORY_KEPT) history.removeFirst();
      history.addLast(new Change(newAvailable, delta, cause, at, reason, referenceDocumentUri));
    }
  }

  record Product(long id, String title) {}

  record Variant(long id, String sku, String price, String title, Product product, long inventoryItemId, boolean tracked) {}

  record Subscription(long id, String topic, String uri) {}

  /** One quantity of an inventory mutation: `amount` is the quantity to set, or the delta to add. */
  record Entry(long inventoryItemId, long locationId, long amount, Long changeFromQuantity, String ledgerDocumentUri) {}

  record InventoryCall(boolean isSet, String name, String reason, String referenceDocumentUri, List<Entry> entries) {}

  record UserError(List<String> field, String message, String code) {}

  record Applied(long inventoryItemId, long locationId, long delta, long quantityAfterChange, String ledgerDocumentUri) {}

  record Outcome(List<UserError> userErrors, List<Applied> changes, long atMillis, long groupId) {
    boolean applied() {
      return userErrors.isEmpty();
    }
  }

  /** A line of an order or a restock taken through the admin API. */
  record Line(long inventoryItemId, long locationId, long quantity) {}

  /** A refused admin call: nothing of it was applied. */
  static final class Refused extends RuntimeException {
    final int status;

    Refused(int status, String message) {
      super(message, null, false, false);
      this.status = status;
    }
  }

  record Remembered(String fingerprint, Object answer) {}

  private record Key(long inventoryItemId, long locationId) {}

  private final LongSupplier clock;
  private final Map<Long, Map<Long, Level>> levels = new HashMap<>();
  private final Map<Long, Integer> locationLevels = new HashMap<>();
  private NavigableMap<Long, Variant> variants = new TreeMap<>();
  private Map<Long, Variant> variantsByItem = new HashMap<>();
  private Map<Long, Product> products = new HashMap<>();
  private final Map<Long, Subscription> subscriptions = new LinkedHashMap<>();
  private long nextSubscriptionId = 1_000_000_001L;
  private long nextGroupId = 1;
  private final LinkedHashMap<String, Remembered> keys =
      new LinkedHashMap<>() {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Remembered> eldest) {
          return size() > IDEMPOTENCY_KEYS_KEPT;
        }
      };

  Shop(LongSupplier clockMillis) {
    this.clock = clockMillis;
  }

  Shop() {
    this(System::currentTimeMillis);
  }

  long now() {
    return clock.getAsLong();
  }

  // ---- levels ----

  synchronized Level level(long inventoryItemId, long locationId) {
    Map<Long, Level> byLocation = levels.get(inventoryItemId);
    return byLocation == null ? null : byLocation.get(locationId);
  }

  /** Known to Shopify: stocked somewhere, or in the catalogue. */
  synchronized boolean knowsItem(long inventoryItemId) {
    return levels.containsKey(inventoryItemId) || variantsByItem.containsKey(inventoryItemId);
  }

  synchronized boolean knowsLocation(long locationId) {
    return locationId == DEMO_LOCATION_ID || locationLevels.containsKey(locationId);
  }

  synchronized List<Level> levels(Long inventoryItemId) {
    List<Level> out = new ArrayList<>();
    if (inventoryItemId != null) {
      Map<Long, Level> byLocation = levels.get(inventoryItemId);
      if (byLocation != null) out.addAll(byLocation.values());
    } else {
      levels.values().forEach(byLocation -> out.addAll(byLocation.values()));
    }
    out.sort(Comparator.comparingLong((Level l) -> l.inventoryItemId).thenComparingLong(l -> l.locationId));
    return out;
  }

  /** Seeds levels: a new one is stocked, an existing one takes the figure; cause `seed`. */
  synchronized List<Level> seed(List<Line> lines) {
    long at = now();
    List<Level> touched = new ArrayList<>(lines.size());
    for (Line line : lines) {
      Level level = level(line.inventoryItemId(), line.locationId());
      if (level == null) level = stock(line.inventoryItemId(), line.locationId());
      level.change(line.quantity(), Cause.seed, at, null, null);
      touched.add(level);
    }
    return touched;
  }

  /** Shopify takes an order (down, cause `order`) or puts units back (up, cause `restock`); all or nothing. */
  synchronized List<Level> move(List<Line> lines, boolean restock) {
    Map<Key, Long> after = new LinkedHashMap<>();
    for (Line line : lines) {
      if (line.quantity() <= 0) throw new Refused(400, "quantity must be a positive integer: " + line.quantity());
      Level level = level(line.inventoryItemId(), line.locationId());
      if (level == null) {
        throw new Refused(
            422, "inventory item " + line.inventoryItemId() + " is not stocked at location " + line.locationId() + ": nothing applied");
      }
      Key key = new Key(line.inventoryItemId(), line.locationId());
      long from = after.getOrDefault(key, level.available);
      long to = restock ? from + line.quantity() : from - line.quantity();
      if (!restock && to < 0) {
        throw new Refused(
            422,
            "an order of " + line.quantity() + " for inventory item " + line.inventoryItemId() + " at location " + line.locationId()
                + " would take available below 0 (it holds " + from + "): nothing applied");
      }
      after.put(key, to);
    }
    long at = now();
    List<Level> touched = new ArrayList<>(lines.size());
    Cause cause = restock ? Cause.restock : Cause.order;
    for (Line line : lines) {
      Level level = level(line.inventoryItemId(), line.locationId());
      long to = restock ? level.available + line.quantity() : level.available - line.quantity();
      level.change(to, cause, at, null, null);
      if (!touched.contains(level)) touched.add(level);
    }
    return touched;
  }

  private Level stock(long inventoryItemId, long locationId) {
    Level level = new Level(inventoryItemId, locationId);
    levels.computeIfAbsent(inventoryItemId, k -> new HashMap<>(2)).put(locationId, level);
    locationLevels.merge(locationId, 1, Integer::sum);
    return level;
  }

  /**
   * inventorySetQuantities / inventoryAdjustQuantities with Shopify's rules: any user error and
   * nothing of the call is applied.
   */
  synchronized Outcome apply(InventoryCall call) {
    String list = call.isSet() ? "quantities" : "changes";
    List<UserError> errors = new ArrayList<>();
    if (!"available".equals(call.name())) {
      errors.add(new UserError(List.of("input", "name"), "The quantity name must be 'available' (the stand-in keeps no other).",
          call.isSet() ? "INVALID_NAME" : "INVALID_QUANTITY_NAME"));
    }
    if (call.reason() == null || !REASONS.contains(call.reason())) {
      errors.add(new UserError(List.of("input", "reason"), "The specified reason is invalid.", "INVALID_REASON"));
    }
    if (call.entries().size() > MAX_QUANTITIES) {
      errors.add(new UserError(List.of("input", list),
          "The input array size of " + call.entries().size() + " is greater than the maximum allowed of " + MAX_QUANTITIES + ".",
          "MAX_INPUT_SIZE_EXCEEDED"));
    }
    if (!errors.isEmpty()) return new Outcome(errors, List.of(), now(), 0);

    Set<Key> seen = new HashSet<>();
    long[] after = new long[call.entries().size()];
    for (int i = 0; i < call.entries().size(); i++) {
      Entry e = call.entries().get(i);
      String index = Integer.toString(i);
      Level level = level(e.inventoryItemId(), e.locationId());
      if (!seen.add(new Key(e.inventoryItemId(), e.locationId()))) {
        errors.add(new UserError(List.of("input", list, index, "locationId"),
            "The combination of inventoryItemId and locationId must be unique.", "NO_DUPLICATE_INVENTORY_ITEM_ID_GROUP_ID_PAIR"));
        continue;
      }
      if (!call.isSet() && e.ledgerDocumentUri() != null && "available".equals(call.name())) {
        errors.add(new UserError(List.of("input", list, index, "ledgerDocumentUri"),
            "A ledger document URI is not allowed when adjusting available.", "INVALID_AVAILABLE_DOCUMENT"));
      }
      if (level == null) {
        errors.add(new UserError(List.of("input", list, index, "inventoryItemId"),
            "The specified inventory item is not stocked at the location.", "ITEM_NOT_STOCKED_AT_LOCATION"));
        continue;
      }
      if (e.changeFromQuantity() != null && e.changeFromQuantity() != level.available) {
        errors.add(new UserError(List.of("input", list, index, "changeFromQuantity"),
            "The changeFromQuantity value does not match persisted value.", "CHANGE_FROM_QUANTITY_STALE"));
        continue;
      }
      long to = call.isSet() ? e.amount() : level.available + e.amount();
      long limit = call.isSet() ? SET_LIMIT : ADJUST_LIMIT;
      String field = call.isSet() ? "quantity" : "delta";
      if (to > limit) {
        errors.add(new UserError(List.of("input", list, index, field),
            "The quantity can't be higher than " + String.format("%,d", limit) + ".", "INVALID_QUANTITY_TOO_HIGH"));
      } else if (to < -limit) {
        errors.add(new UserError(List.of("input", list, index, field),
            "The quantity can't be lower than " + String.format("%,d", -limit) + ".", "INVALID_QUANTITY_TOO_LOW"));
      }
      after[i] = to;
    }
    long at = now();
    if (!errors.isEmpty()) return new Outcome(errors, List.of(), at, 0);

    Cause cause = call.isSet() ? Cause.set : Cause.adjust;
    List<Applied> applied = new ArrayList<>(call.entries().size());
    for (int i = 0; i < call.entries().size(); i++) {
      Entry e = call.entries().get(i);
      Level level = level(e.inventoryItemId(), e.locationId());
      long delta = after[i] - level.available;
      level.change(after[i], cause, at, call.reason(), call.referenceDocumentUri());
      applied.add(new Applied(e.inventoryItemId(), e.locationId(), delta, after[i], e.ledgerDocumentUri()));
    }
    return new Outcome(List.of(), applied, at, nextGroupId++);
  }

  // ---- idempotency ----

  synchronized Remembered remembered(String key) {
    return keys.get(key);
  }

  synchronized void remember(String key, String fingerprint, Object answer) {
    keys.put(key, new Remembered(fingerprint, answer));
  }

  // ---- catalogue ----

  synchronized void replaceCatalogue(Collection<Product> newProducts, Collection<Variant> newVariants) {
    NavigableMap<Long, Variant> byId = new TreeMap<>();
    Map<Long, Variant> byItem = new HashMap<>();
    Map<Long, Product> productsById = new HashMap<>();
    for (Product p : newProducts) {
      if (productsById.put(p.id(), p) != null) throw new Refused(400, "product " + p.id() + " appears twice");
    }
    for (Variant v : newVariants) {
      if (byId.put(v.id(), v) != null) throw new Refused(400, "variant " + v.id() + " appears twice");
      if (byItem.put(v.inventoryItemId(), v) != null) {
        throw new Refused(400, "inventory item " + v.inventoryItemId() + " belongs to two variants");
      }
    }
    variants = byId;
    variantsByItem = byItem;
    products = productsById;
  }

  synchronized Variant variant(long id) {
    return variants.get(id);
  }

  synchronized Variant variantOfItem(long inventoryItemId) {
    return variantsByItem.get(inventoryItemId);
  }

  synchronized Product product(long id) {
    return products.get(id);
  }

  /** Up to `first` variants after the one of id `after` (null: from the start), by variant id. */
  synchronized List<Variant> variantsAfter(Long after, int first) {
    NavigableMap<Long, Variant> rest = after == null ? variants : variants.tailMap(after, false);
    List<Variant> page = new ArrayList<>(Math.min(first + 1, rest.size()));
    for (Variant v : rest.values()) {
      if (page.size() > first) break;
      page.add(v);
    }
    return page;
  }

  synchronized int catalogueSize() {
    return variants.size();
  }

  // ---- webhook subscriptions ----

  synchronized List<Subscription> subscriptions() {
    return new ArrayList<>(subscriptions.values());
  }

  synchronized Subscription subscription(long id) {
    return subscriptions.get(id);
  }

  private boolean taken(String topic, String uri, long exceptId) {
    for (Subscription s : subscriptions.values()) {
      if (s.id() != exceptId && s.topic().equals(topic) && s.uri().equals(uri)) return true;
    }
    return false;
  }

  /** A new subscription, or null when its topic already has that address. */
  synchronized Subscription subscribe(String topic, String uri) {
    if (taken(topic, uri, -1)) return null;
    Subscription s = new Subscription(nextSubscriptionId++, topic, uri);
    subscriptions.put(s.id(), s);
    return s;
  }

  /** The subscription with its new address; null when another of its topic has that address. */
  synchronized Subscription readdress(Subscription existing, String uri) {
    if (taken(existing.topic(), uri, existing.id())) return null;
    Subscription s = new Subscription(existing.id(), existing.topic(), uri);
    subscriptions.put(s.id(), s);
    return s;
  }

  synchronized boolean unsubscribe(long id) {
    return subscriptions.remove(id) != null;
  }

  /** DELETE /__admin/shopify: levels, catalogue, subscriptions and idempotency keys. */
  synchronized void forget() {
    levels.clear();
    locationLevels.clear();
    variants = new TreeMap<>();
    variantsByItem = new HashMap<>();
    products = new HashMap<>();
    subscriptions.clear();
    keys.clear();
  }
}
