package local.stack.wiremock;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** The shop's state and rules, without GraphQL or HTTP. */
class ShopTest {
  static final long ITEM = 44_123_456_780_001L;
  static final long OTHER = 44_123_456_780_002L;
  static final long LOCATION = 65_432_109_876L;

  private final AtomicLong clock = new AtomicLong(1_764_000_000_000L);
  private final Shop shop = new Shop(clock::getAndIncrement);

  private static Shop.InventoryCall set(Shop.Entry... entries) {
    return new Shop.InventoryCall(true, "available", "correction", "gid://order-intake/Order/1", List.of(entries));
  }

  private static Shop.InventoryCall adjust(Shop.Entry... entries) {
    return new Shop.InventoryCall(false, "available", "received", "gid://order-intake/Movement/1", List.of(entries));
  }

  private static Shop.Entry entry(long item, long amount, Long changeFrom) {
    return new Shop.Entry(item, LOCATION, amount, changeFrom, null);
  }

  private List<String> causes(long item) {
    return shop.level(item, LOCATION).history().stream().map(c -> c.cause().name()).toList();
  }

  @Test
  void aStaleCompareAndSetAppliesNothingOfTheCall() {
    shop.seed(List.of(new Shop.Line(ITEM, LOCATION, 10), new Shop.Line(OTHER, LOCATION, 5)));
    Shop.Outcome stale = shop.apply(set(entry(ITEM, 8, 10L), entry(OTHER, 3, 4L)));
    assertFalse(stale.applied());
    assertEquals(1, stale.userErrors().size());
    Shop.UserError error = stale.userErrors().get(0);
    assertEquals("CHANGE_FROM_QUANTITY_STALE", error.code());
    assertEquals(List.of("input", "quantities", "1", "changeFromQuantity"), error.field());
    assertEquals(10, shop.level(ITEM, LOCATION).available(), "the first quantity was right, and is not applied either");
    assertEquals(5, shop.level(OTHER, LOCATION).available());
    assertEquals(List.of("seed"), causes(ITEM));

    Shop.Outcome ok = shop.apply(set(entry(ITEM, 8, 10L), entry(OTHER, 3, 5L)));
    assertTrue(ok.applied());
    assertEquals(List.of(new Shop.Applied(ITEM, LOCATION, -2, 8, null), new Shop.Applied(OTHER, LOCATION, -2, 3, null)), ok.changes());
    assertEquals(List.of("seed", "set"), causes(ITEM));
  }

  @Test
  void aNullChangeFromQuantitySetsWithoutComparing() {
    shop.seed(List.of(new Shop.Line(ITEM, LOCATION, 10)));
    assertTrue(shop.apply(set(entry(ITEM, 4, null))).applied());
    assertEquals(4, shop.level(ITEM, LOCATION).available());
  }

  @Test
  void anItemNotStockedAtTheLocationIsRefusedAndNothingApplied() {
    shop.seed(List.of(new Shop.Line(ITEM, LOCATION, 10)));
    Shop.Outcome outcome = shop.apply(adjust(entry(ITEM, -1, null), new Shop.Entry(ITEM, 1L, 5, null, null)));
    assertFalse(outcome.applied());
    assertEquals("ITEM_NOT_STOCKED_AT_LOCATION", outcome.userErrors().get(0).code());
    assertEquals(List.of("input", "changes", "1", "inventoryItemId"), outcome.userErrors().get(0).field());
    assertEquals(10, shop.level(ITEM, LOCATION).available());
    assertNull(shop.level(ITEM, 1L), "a refused call stocks nothing");
  }

  @Test
  void aLedgerDocumentWithAvailableIsShopifysInvalidAvailableDocument() {
    shop.seed(List.of(new Shop.Line(ITEM, LOCATION, 10)));
    Shop.Outcome outcome = shop.apply(adjust(new Shop.Entry(ITEM, LOCATION, 5, null, "gid://order-intake/Movement/7")));
    assertEquals("INVALID_AVAILABLE_DOCUMENT", outcome.userErrors().get(0).code());
    assertEquals(List.of("input", "changes", "0", "ledgerDocumentUri"), outcome.userErrors().get(0).field());
    assertEquals(10, shop.level(ITEM, LOCATION).available());
  }

  @Test
  void anAdjustmentAddsItsDeltaAndComparesWhenAsked() {
    shop.seed(List.of(new Shop.Line(ITEM, LOCATION, 10)));
    assertEquals("CHANGE_FROM_QUANTITY_STALE", shop.apply(adjust(entry(ITEM, 5, 9L))).userErrors().get(0).code());
    Shop.Outcome ok = shop.apply(adjust(entry(ITEM, 5, 10L)));
    assertEquals(List.of(new Shop.Applied(ITEM, LOCATION, 5, 15, null)), ok.changes());
    assertEquals(List.of("seed", "adjust"), causes(ITEM));
    Shop.Change last = shop.level(ITEM, LOCATION).history().get(1);
    assertEquals("received", last.reason());
    assertEquals("gid://order-intake/Movement/1", last.referenceDocumentUri());
  }

  @Test
  void moreThanTwoHundredFiftyQuantitiesOrAnUnknownReasonOrAPairTwiceAreRefused() {
    List<Shop.Line> seeds = new ArrayList<>();
    List<Shop.Entry> entries = new ArrayList<>();
    for (long i = 0; i < 251; i++) {
      seeds.add(new Shop.Line(ITEM + i, LOCATION, 1));
      entries.add(entry(ITEM + i, 2, null));
    }
    shop.seed(seeds);
    Shop.Outcome tooMany = shop.apply(new Shop.InventoryCall(true, "available", "correction", null, entries));
    assertEquals("MAX_INPUT_SIZE_EXCEEDED", tooMany.userErrors().get(0).code());
    assertEquals(1, shop.level(ITEM, LOCATION).available());
    assertTrue(shop.apply(new Shop.InventoryCall(true, "available", "correction", null, entries.subList(0, 250))).applied());

    Shop.Outcome badReason = shop.apply(new Shop.InventoryCall(true, "available", "sold", null, List.of(entry(ITEM, 9, null))));
    assertEquals("INVALID_REASON", badReason.userErrors().get(0).code());
    Shop.Outcome twice = shop.apply(set(entry(ITEM, 9, null), entry(ITEM, 8, null)));
    assertEquals("NO_DUPLICATE_INVENTORY_ITEM_ID_GROUP_ID_PAIR", twice.userErrors().get(0).code());
    assertEquals(2, shop.level(ITEM, LOCATION).available());
  }

  @Test
  void ordersTakeAndRestocksPutBackWithTheirCausesAndAnOrderNeverGoesBelowZero() {
    shop.seed(List.of(new Shop.Line(ITEM, LOCATION, 3), new Shop.Line(OTHER, LOCATION, 1)));
    shop.move(List.of(new Shop.Line(ITEM, LOCATION, 2)), false);
    Shop.Refused refused =
        assertThrows(Shop.Refused.class, () -> shop.move(List.of(new Shop.Line(OTHER, LOCATION, 1), new Shop.Line(ITEM, LOCATION, 2)), false));
    assertEquals(422, refused.status);
    assertEquals(1, shop.level(OTHER, LOCATION).available(), "a refused order takes nothing at all");
    assertThrows(Shop.Refused.class, () -> shop.move(List.of(new Shop.Line(ITEM, 1L, 1)), true));
    shop.move(List.of(new Shop.Line(ITEM, LOCATION, 4)), true);
    assertEquals(5, shop.level(ITEM, LOCATION).available());
    assertEquals(List.of("seed", "order", "restock"), causes(ITEM));
    assertEquals(List.of(3L, 1L, 5L), shop.level(ITEM, LOCATION).history().stream().map(Shop.Change::available).toList());
    shop.seed(List.of(new Shop.Line(ITEM, LOCATION, 7)));
    assertEquals(List.of("seed", "order", "restock", "seed"), causes(ITEM));
  }

  @Test
  void theCataloguePagesByVariantIdAndForgettingForgetsEverything() {
    Shop.Product p = new Shop.Product(1, "T-shirt");
    List<Shop.Variant> variants = new ArrayList<>();
    for (long id : new long[] {30, 10, 20}) variants.add(new Shop.Variant(id, "SKU-" + id, "1.00", "V" + id, p, 100 + id, true));
    shop.replaceCatalogue(List.of(p), variants);
    assertEquals(List.of(10L, 20L), shop.variantsAfter(null, 1).stream().map(Shop.Variant::id).toList(), "one more than asked tells a next page");
    assertEquals(List.of(30L), shop.variantsAfter(20L, 2).stream().map(Shop.Variant::id).toList());
    assertTrue(shop.knowsItem(110), "an item of the catalogue is known without a level");
    assertThrows(Shop.Refused.class, () -> shop.replaceCatalogue(List.of(p), List.of(variants.get(0), variants.get(0))));

    shop.seed(List.of(new Shop.Line(ITEM, LOCATION, 1)));
    shop.subscribe("ORDERS_CREATE", "https://example.test/hook");
    shop.remember("key", "f", "answer");
    shop.forget();
    assertEquals(0, shop.catalogueSize());
    assertTrue(shop.levels(null).isEmpty());
    assertTrue(shop.subscriptions().isEmpty());
    assertNull(shop.remembered("key"));
    assertFalse(shop.knowsItem(110));
    assertTrue(shop.knowsLocation(LOCATION), "the demo location is always known");
  }

  @Test
  void aDuplicateSubscriptionIsRefused() {
    assertEquals("ORDERS_CREATE", shop.subscribe("ORDERS_CREATE", "https://example.test/hook").topic());
    assertNull(shop.subscribe("ORDERS_CREATE", "https://example.test/hook"));
    Shop.Subscription other = shop.subscribe("ORDERS_CREATE", "https://example.test/hook2");
    assertNull(shop.readdress(other, "https://example.test/hook"), "an update onto a taken address is refused");
    assertEquals("https://example.test/hook3", shop.readdress(other, "https://example.test/hook3").uri());
    shop.subscribe("REFUNDS_CREATE", "https://example.test/hook");
    assertEquals(Arrays.asList("ORDERS_CREATE", "ORDERS_CREATE", "REFUNDS_CREATE"), shop.subscriptions().stream().map(Shop.Subscription::topic).toList());
  }
}
