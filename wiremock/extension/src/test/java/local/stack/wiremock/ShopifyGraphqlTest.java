package local.stack.wiremock;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.github.tomakehurst.wiremock.common.Json;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import wiremock.com.fasterxml.jackson.annotation.JsonInclude;
import wiremock.com.fasterxml.jackson.databind.ObjectMapper;

/** The GraphQL operations the system sends, answered from the shop. */
class ShopifyGraphqlTest {
  static final ObjectMapper JSON = Json.getObjectMapper().copy().setSerializationInclusion(JsonInclude.Include.ALWAYS);
  static final String ITEM = "gid://shopify/InventoryItem/44123456780001";
  static final String OTHER = "gid://shopify/InventoryItem/44123456780002";
  static final String LOCATION = "gid://shopify/Location/65432109876";

  static final String SET = """
      mutation InventorySetQuantities($input: InventorySetQuantitiesInput!, $idempotencyKey: String!) {
        inventorySetQuantities(input: $input) @idempotent(key: $idempotencyKey) {
          inventoryAdjustmentGroup { createdAt reason referenceDocumentUri changes { name delta quantityAfterChange } }
          userErrors { code field message }
        }
      }""";
  static final String ADJUST = SET.replace("InventorySetQuantities", "InventoryAdjustQuantities").replace("inventorySetQuantities", "inventoryAdjustQuantities");
  // services/order-stream-process/src/reconcile.ts
  static final String AVAILABLE = """
      query ReconcileAvailableQuantities($ids: [ID!]!, $locationId: ID!) {
        nodes(ids: $ids) {
          ... on InventoryItem {
            id
            inventoryLevel(locationId: $locationId) {
              quantities(names: ["available"]) {
                name
                quantity
              }
            }
          }
        }
      }""";

  private final Shop shop = new Shop(() -> 1_764_000_000_000L);
  private final ShopifyGraphql graphql = new ShopifyGraphql(shop);

  @SuppressWarnings("unchecked")
  Map<String, Object> run(String query, Map<String, Object> variables) throws Exception {
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("query", query);
    body.put("variables", variables);
    // Through JSON text, as the request arrives.
    ShopifyGraphql.Prepared prepared = graphql.prepare(JSON.writeValueAsString(body), Plan.STANDARD);
    return (Map<String, Object>) Json.read(JSON.writeValueAsString(graphql.execute(prepared)), Map.class);
  }

  static Map<String, Object> quantity(String item, Integer quantity, Integer changeFrom) {
    Map<String, Object> q = new LinkedHashMap<>();
    q.put("inventoryItemId", item);
    q.put("locationId", LOCATION);
    q.put("quantity", quantity);
    q.put("changeFromQuantity", changeFrom);
    return q;
  }

  static Map<String, Object> setVariables(String key, List<Map<String, Object>> quantities) {
    Map<String, Object> input = new LinkedHashMap<>();
    input.put("name", "available");
    input.put("reason", "correction");
    input.put("referenceDocumentUri", "gid://order-intake/Order/1");
    input.put("quantities", quantities);
    return Map.of("input", input, "idempotencyKey", key);
  }

  @SuppressWarnings("unchecked")
  static <T> T at(Object json, Object... path) {
    Object here = json;
    for (Object step : path) here = step instanceof Integer i ? ((List<Object>) here).get(i) : ((Map<String, Object>) here).get(step);
    return (T) here;
  }

  private void seed(long item, long available) {
    shop.seed(List.of(new Shop.Line(item, 65_432_109_876L, available)));
  }

  @Test
  void aStaleSetIsRefusedWholeAndTheRightOneApplies() throws Exception {
    seed(44123456780001L, 10);
    seed(44123456780002L, 5);
    Map<String, Object> stale = run(SET, setVariables("k1", List.of(quantity(ITEM, 7, 10), quantity(OTHER, 1, 6))));
    assertNull(at(stale, "data", "inventorySetQuantities", "inventoryAdjustmentGroup"));
    assertEquals(
        List.of(Map.of("code", "CHANGE_FROM_QUANTITY_STALE", "field", List.of("input", "quantities", "1", "changeFromQuantity"),
            "message", "The changeFromQuantity value does not match persisted value.")),
        at(stale, "data", "inventorySetQuantities", "userErrors"));
    assertEquals(10, shop.level(44123456780001L, 65_432_109_876L).available());

    Map<String, Object> ok = run(SET, setVariables("k2", List.of(quantity(ITEM, 7, 10), quantity(OTHER, 1, 5))));
    assertEquals(
        Map.of("createdAt", "2025-11-24T16:00:00Z", "reason", "correction", "referenceDocumentUri", "gid://order-intake/Order/1",
            "changes", List.of(Map.of("name", "available", "delta", -3, "quantityAfterChange", 7),
                Map.of("name", "available", "delta", -4, "quantityAfterChange", 1))),
        at(ok, "data", "inventorySetQuantities", "inventoryAdjustmentGroup"));
    assertEquals(List.of(), at(ok, "data", "inventorySetQuantities", "userErrors"));
  }

  @Test
  void aKeySeenBeforeAnswersAsBeforeAndAppliesNothingAndAnotherInputUnderItIsRefused() throws Exception {
    seed(44123456780001L, 10);
    Map<String, Object> first = run(SET, setVariables("key", List.of(quantity(ITEM, 7, 10))));
    shop.move(List.of(new Shop.Line(44123456780001L, 65_432_109_876L, 2)), false);
    Map<String, Object> replay = run(SET, setVariables("key", List.of(quantity(ITEM, 7, 10))));
    assertEquals(first, replay, "the same answer, though the compare would now be stale");
    assertEquals(5, shop.level(44123456780001L, 65_432_109_876L).available(), "nothing applied again");

    Map<String, Object> mismatch = run(SET, setVariables("key", List.of(quantity(ITEM, 6, 5))));
    assertEquals("IDEMPOTENCY_KEY_PARAMETER_MISMATCH", at(mismatch, "data", "inventorySetQuantities", "userErrors", 0, "code"));
    assertNull(at(mismatch, "data", "inventorySetQuantities", "inventoryAdjustmentGroup"));
    assertEquals(5, shop.level(44123456780001L, 65_432_109_876L).available());

    // A user error is remembered too: the replay of a stale call stays stale.
    Map<String, Object> stale = run(SET, setVariables("key2", List.of(quantity(ITEM, 1, 99))));
    shop.seed(List.of(new Shop.Line(44123456780001L, 65_432_109_876L, 99)));
    assertEquals(stale, run(SET, setVariables("key2", List.of(quantity(ITEM, 1, 99)))));
    assertEquals(99, shop.level(44123456780001L, 65_432_109_876L).available());
  }

  @Test
  void aMutationWithoutIdempotentIsABadRequest() throws Exception {
    seed(44123456780001L, 10);
    Map<String, Object> answer = run(SET.replace(" @idempotent(key: $idempotencyKey)", ""), setVariables("k", List.of(quantity(ITEM, 1, 10))));
    assertNull(answer.get("data"));
    assertEquals("BAD_REQUEST", at(answer, "errors", 0, "extensions", "code"));
    assertEquals(10, shop.level(44123456780001L, 65_432_109_876L).available());
  }

  @Test
  void changeFromQuantityMustBeGivenAndIdsMustBeGids() throws Exception {
    seed(44123456780001L, 10);
    Map<String, Object> q = quantity(ITEM, 1, null);
    q.remove("changeFromQuantity");
    assertEquals("INVALID_VARIABLE", at(run(SET, setVariables("k", List.of(q))), "errors", 0, "extensions", "code"));
    assertEquals("INVALID_VARIABLE", at(run(SET, setVariables("k", List.of(quantity("44123456780001", 1, null)))), "errors", 0, "extensions", "code"));
    assertEquals(10, shop.level(44123456780001L, 65_432_109_876L).available());
  }

  @Test
  void anAdjustmentWithALedgerDocumentIsRefusedAndWithoutOneApplies() throws Exception {
    seed(44123456780001L, 10);
    Map<String, Object> change = new LinkedHashMap<>();
    change.put("inventoryItemId", ITEM);
    change.put("locationId", LOCATION);
    change.put("delta", 4);
    change.put("changeFromQuantity", null);
    change.put("ledgerDocumentUri", "gid://order-intake/Movement/3");
    Map<String, Object> input = new LinkedHashMap<>();
    input.put("name", "available");
    input.put("reason", "received");
    input.put("referenceDocumentUri", "gid://order-intake/Movement/3");
    input.put("changes", List.of(change));
    Map<String, Object> refused = run(ADJUST, Map.of("input", input, "idempotencyKey", "a1"));
    assertEquals("INVALID_AVAILABLE_DOCUMENT", at(refused, "data", "inventoryAdjustQuantities", "userErrors", 0, "code"));
    change.remove("ledgerDocumentUri");
    Map<String, Object> ok = run(ADJUST, Map.of("input", input, "idempotencyKey", "a2"));
    assertEquals(14, (Integer) at(ok, "data", "inventoryAdjustQuantities", "inventoryAdjustmentGroup", "changes", 0, "quantityAfterChange"));
    assertEquals(List.of("seed", "adjust"), shop.level(44123456780001L, 65_432_109_876L).history().stream().map(c -> c.cause().name()).toList());
  }

  @Test
  void nodesAnswersEachIdInOrderNullForAnUnknownItemAndANullLevelWhereItIsNotStocked() throws Exception {
    seed(44123456780001L, 10);
    shop.seed(List.of(new Shop.Line(44123456780002L, 1L, 3)));
    Map<String, Object> answer = run(AVAILABLE, Map.of("ids", List.of(OTHER, "gid://shopify/InventoryItem/9", ITEM), "locationId", LOCATION));
    List<Object> expected = new ArrayList<>();
    Map<String, Object> notStocked = new LinkedHashMap<>();
    notStocked.put("id", OTHER);
    notStocked.put("inventoryLevel", null);
    expected.add(notStocked);
    expected.add(null);
    expected.add(Map.of("id", ITEM, "inventoryLevel", Map.of("quantities", List.of(Map.of("name", "available", "quantity", 10)))));
    assertEquals(Map.of("nodes", expected), answer.get("data"));

    Map<String, Object> one = run(
        "query($id: ID!, $locationId: ID!) { inventoryItem(id: $id) { id tracked inventoryLevel(locationId: $locationId) { quantities(names: [\"available\"]) { name quantity } } } }",
        Map.of("id", ITEM, "locationId", LOCATION));
    assertEquals(true, at(one, "data", "inventoryItem", "tracked"));
    assertEquals(10, (Integer) at(one, "data", "inventoryItem", "inventoryLevel", "quantities", 0, "quantity"));
  }

  @Test
  void productVariantsPagesTheCatalogueByVariantId() throws Exception {
    Shop.Product p = new Shop.Product(7523456789001L, "Organic cotton T-shirt");
    List<Shop.Variant> variants = new ArrayList<>();
    for (long i = 3; i >= 1; i--) variants.add(new Shop.Variant(50_000_000_000_000L + i, "SKU-" + i, "24.90", "Size " + i, p, 44123456780000L + i, i != 2));
    shop.replaceCatalogue(List.of(p), variants);
    String query = "query Variants($first: Int!, $after: String) { productVariants(first: $first, after: $after) { pageInfo { hasNextPage endCursor } "
        + "nodes { id sku price title product { id title } inventoryItem { id tracked } } } }";
    Map<String, Object> after = new LinkedHashMap<>();
    after.put("first", 2);
    after.put("after", null);
    Map<String, Object> page1 = run(query, after);
    assertEquals(true, at(page1, "data", "productVariants", "pageInfo", "hasNextPage"));
    assertEquals(
        Map.of("id", "gid://shopify/ProductVariant/50000000000001", "sku", "SKU-1", "price", "24.90", "title", "Size 1",
            "product", Map.of("id", "gid://shopify/Product/7523456789001", "title", "Organic cotton T-shirt"),
            "inventoryItem", Map.of("id", "gid://shopify/InventoryItem/44123456780001", "tracked", true)),
        at(page1, "data", "productVariants", "nodes", 0));
    assertEquals(false, at(page1, "data", "productVariants", "nodes", 1, "inventoryItem", "tracked"));
    after.put("after", at(page1, "data", "productVariants", "pageInfo", "endCursor"));
    Map<String, Object> page2 = run(query, after);
    assertEquals(false, at(page2, "data", "productVariants", "pageInfo", "hasNextPage"));
    assertEquals(List.of("SKU-3"), ((List<Map<String, Object>>) at(page2, "data", "productVariants", "nodes")).stream().map(n -> n.get("sku")).toList());
    after.put("first", 251);
    assertEquals("BAD_REQUEST", at(run(query, after), "errors", 0, "extensions", "code"));
  }

  @Test
  void webhookSubscriptionsAreCreatedUpdatedAndListed() throws Exception {
    String create = "mutation($topic: WebhookSubscriptionTopic!, $webhookSubscription: WebhookSubscriptionInput!) { "
        + "webhookSubscriptionCreate(topic: $topic, webhookSubscription: $webhookSubscription) { webhookSubscription { id topic uri } userErrors { field message } } }";
    Map<String, Object> created = run(create, Map.of("topic", "ORDERS_CREATE", "webhookSubscription", Map.of("uri", "https://oms.test/webhooks/orders")));
    String id = at(created, "data", "webhookSubscriptionCreate", "webhookSubscription", "id");
    assertTrue(id.startsWith("gid://shopify/WebhookSubscription/"));
    Map<String, Object> again = run(create, Map.of("topic", "ORDERS_CREATE", "webhookSubscription", Map.of("uri", "https://oms.test/webhooks/orders")));
    assertEquals("Address for this topic has already been taken", at(again, "data", "webhookSubscriptionCreate", "userErrors", 0, "message"));
    assertNull(at(again, "data", "webhookSubscriptionCreate", "webhookSubscription"));

    String update = "mutation($id: ID!, $webhookSubscription: WebhookSubscriptionInput!) { "
        + "webhookSubscriptionUpdate(id: $id, webhookSubscription: $webhookSubscription) { webhookSubscription { id topic uri } userErrors { field message } } }";
    Map<String, Object> updated = run(update, Map.of("id", id, "webhookSubscription", Map.of("uri", "https://oms.test/v2")));
    assertEquals(Map.of("id", id, "topic", "ORDERS_CREATE", "uri", "https://oms.test/v2"), at(updated, "data", "webhookSubscriptionUpdate", "webhookSubscription"));
    Map<String, Object> listed = run("query { webhookSubscriptions(first: 10) { nodes { id topic uri } } }", Map.of());
    assertEquals(List.of(Map.of("id", id, "topic", "ORDERS_CREATE", "uri", "https://oms.test/v2")), at(listed, "data", "webhookSubscriptions", "nodes"));

    Map<String, Object> scopes = run("{ currentAppInstallation { accessScopes { handle } } }", Map.of());
    assertEquals(4, ((List<?>) at(scopes, "data", "currentAppInstallation", "accessScopes")).size());
    Map<String, Object> locations = run("query($a: ID!, $b: ID!) { a: location(id: $a) { id name } b: location(id: $b) { id } }",
        Map.of("a", LOCATION, "b", "gid://shopify/Location/1"));
    assertNotNull(at(locations, "data", "a", "name"));
    assertTrue(((Map<?, ?>) locations.get("data")).containsKey("b"));
    assertNull(at(locations, "data", "b"));
  }

  @Test
  void anythingElseIsATopLevelErrorNamingIt() throws Exception {
    Map<String, Object> answer = run("mutation { productCreate(input: {title: \"x\"}) { product { id } } }", Map.of());
    String message = at(answer, "errors", 0, "message");
    assertTrue(message.contains("productCreate"), message);
    assertNull(answer.get("data"));
    assertEquals("undefinedField", at(run("{ inventoryItem(id: \"gid://shopify/InventoryItem/1\") { id cost } }", Map.of()), "errors", 0, "extensions", "code"));
    assertEquals("PARSE_ERROR", at(run("query { nodes(ids: [) }", Map.of()), "errors", 0, "extensions", "code"));
  }

  @Test
  void aMutationCostsTenAQueryByWhatItReads() {
    Map<String, Object> vars = Map.of("ids", List.of(ITEM, OTHER, ITEM), "first", 50);
    assertEquals(10, ShopifyGraphql.cost(Gql.parse(SET).operation(null), vars, Plan.STANDARD));
    assertEquals(4, ShopifyGraphql.cost(Gql.parse(AVAILABLE).operation(null), vars, Plan.STANDARD));
    assertEquals(52, ShopifyGraphql.cost(Gql.parse("query($first: Int) { productVariants(first: $first) { nodes { id } } }").operation(null), vars, Plan.STANDARD));
    assertEquals(1, ShopifyGraphql.cost(Gql.parse("{ location(id: \"gid://shopify/Location/1\") { id } }").operation(null), vars, Plan.STANDARD));
  }
}
