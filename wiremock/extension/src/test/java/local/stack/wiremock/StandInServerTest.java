package local.stack.wiremock;

import static com.github.tomakehurst.wiremock.core.WireMockConfiguration.wireMockConfig;
import static local.stack.wiremock.ShopifyGraphqlTest.at;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.github.tomakehurst.wiremock.WireMockServer;
import com.github.tomakehurst.wiremock.common.Json;
import com.github.tomakehurst.wiremock.stubbing.StubMapping;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The stand-in through a WireMock started in-process with the committed catch-all mapping. */
class StandInServerTest {
  /** wiremock/mappings/shopify-stand-in.json; its copy below serves where only this module is (the Docker build). */
  private static final Path MAPPING = Path.of("..", "mappings", "shopify-stand-in.json");
  private static final String MAPPING_COPY = """
      {"priority": 10,
       "request": {"method": "POST", "urlPathPattern": "/admin/api/[^/]+/graphql\\\\.json",
                   "headers": {"X-Shopify-Access-Token": {"matches": ".+"}}},
       "response": {"status": 200, "headers": {"Content-Type": "application/json"},
                    "transformers": ["shopify-leaky-bucket"], "transformerParameters": {"standIn": true}}}""";
  private static final String GRAPHQL = "/admin/api/2026-10/graphql.json";
  private static final String ITEM = "44123456780001";
  private static final String LOCATION = "65432109876";

  private static final AtomicLong nanos = new AtomicLong();
  private static final HttpClient http = HttpClient.newHttpClient();
  private static WireMockServer server;

  @BeforeAll
  static void start() throws Exception {
    server = new WireMockServer(wireMockConfig().dynamicPort().extensions(new ShopifyLeakyBucket(Plan.STANDARD, nanos::get)));
    server.start();
    server.addStubMapping(StubMapping.buildFrom(Files.exists(MAPPING) ? Files.readString(MAPPING) : MAPPING_COPY));
  }

  @AfterAll
  static void stop() {
    server.stop();
  }

  @BeforeEach
  void forget() throws Exception {
    nanos.addAndGet(100_000_000_000L); // every bucket full again
    assertEquals(204, call("DELETE", "/__admin/shopify", null).statusCode());
  }

  private static HttpResponse<String> call(String method, String path, String body) throws Exception {
    HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(server.baseUrl() + path))
        .header("Content-Type", "application/json")
        .header("X-Shopify-Access-Token", "shpat_test")
        .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
    return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
  }

  private static Map<String, Object> json(HttpResponse<String> response) {
    @SuppressWarnings("unchecked")
    Map<String, Object> parsed = Json.read(response.body(), Map.class);
    return parsed;
  }

  private static String set(String key, int quantity, Integer changeFrom) {
    return """
        {"query": "mutation Set($input: InventorySetQuantitiesInput!, $idempotencyKey: String!) { inventorySetQuantities(input: $input) @idempotent(key: $idempotencyKey) { inventoryAdjustmentGroup { changes { name delta quantityAfterChange } } userErrors { code field message } } }",
         "variables": {"idempotencyKey": "%s", "input": {"name": "available", "reason": "correction", "referenceDocumentUri": "gid://order-intake/Order/1",
           "quantities": [{"inventoryItemId": "gid://shopify/InventoryItem/%s", "locationId": "gid://shopify/Location/%s", "quantity": %d, "changeFromQuantity": %s}]}}}"""
        .formatted(key, ITEM, LOCATION, quantity, changeFrom);
  }

  private static String adjust(String key, int delta) {
    return """
        {"query": "mutation Adjust($input: InventoryAdjustQuantitiesInput!, $idempotencyKey: String!) { inventoryAdjustQuantities(input: $input) @idempotent(key: $idempotencyKey) { inventoryAdjustmentGroup { changes { delta quantityAfterChange } } userErrors { code field } } }",
         "variables": {"idempotencyKey": "%s", "input": {"name": "available", "reason": "received", "referenceDocumentUri": "gid://order-intake/Movement/1",
           "changes": [{"inventoryItemId": "gid://shopify/InventoryItem/%s", "locationId": "gid://shopify/Location/%s", "delta": %d, "changeFromQuantity": null}]}}}"""
        .formatted(key, ITEM, LOCATION, delta);
  }

  private static void seed(int available) throws Exception {
    String body = "{\"levels\":[{\"inventoryItemId\":\"" + ITEM + "\",\"locationId\":\"" + LOCATION + "\",\"available\":" + available + "}]}";
    assertEquals(200, call("PUT", "/__admin/shopify/inventory-levels", body).statusCode());
  }

  private static Map<String, Object> level() throws Exception {
    HttpResponse<String> response = call("GET", "/__admin/shopify/inventory-levels?inventoryItemId=" + ITEM, null);
    assertEquals(200, response.statusCode());
    List<Map<String, Object>> levels = at(json(response), "levels");
    assertEquals(1, levels.size());
    return levels.get(0);
  }

  @Test
  void seedSetStaleSetAdjustOrderRestockAndTheHistoryOfEveryChange() throws Exception {
    seed(10);
    Map<String, Object> stale = json(call("POST", GRAPHQL, set("s1", 8, 9)));
    assertEquals("CHANGE_FROM_QUANTITY_STALE", at(stale, "data", "inventorySetQuantities", "userErrors", 0, "code"));
    assertEquals(10, (Integer) at(stale, "extensions", "cost", "requestedQueryCost"));
    assertEquals(1990, (Integer) at(stale, "extensions", "cost", "throttleStatus", "currentlyAvailable"));
    Map<String, Object> ok = json(call("POST", GRAPHQL, set("s2", 8, 10)));
    assertEquals(Map.of("name", "available", "delta", -2, "quantityAfterChange", 8),
        at(ok, "data", "inventorySetQuantities", "inventoryAdjustmentGroup", "changes", 0));
    assertEquals(13, (Integer) at(json(call("POST", GRAPHQL, adjust("a1", 5))), "data", "inventoryAdjustQuantities",
        "inventoryAdjustmentGroup", "changes", 0, "quantityAfterChange"));
    String line = "{\"lineItems\":[{\"inventoryItemId\":\"" + ITEM + "\",\"locationId\":\"" + LOCATION + "\",\"quantity\":%d}]}";
    assertEquals(422, call("POST", "/__admin/shopify/orders", line.formatted(14)).statusCode());
    assertEquals(200, call("POST", "/__admin/shopify/orders", line.formatted(3)).statusCode());
    assertEquals(200, call("POST", "/__admin/shopify/restocks", line.formatted(1)).statusCode());

    Map<String, Object> level = level();
    assertEquals(11, (Integer) level.get("available"));
    List<Map<String, Object>> history = at(level, "history");
    assertEquals(List.of("seed", "set", "adjust", "order", "restock"), history.stream().map(c -> c.get("cause")).toList());
    assertEquals(List.of(10, 8, 13, 10, 11), history.stream().map(c -> c.get("available")).toList());
    assertTrue(((String) history.get(0).get("at")).endsWith("Z"));
  }

  @Test
  void aTestsOwnStubOfBetterPriorityWinsAndTheShopIsUntouched() throws Exception {
    seed(10);
    StubMapping failure = StubMapping.buildFrom("""
        {"priority": 1, "request": {"method": "POST", "urlPath": "%s", "bodyPatterns": [{"contains": "inventorySetQuantities"}]},
         "response": {"status": 503, "body": "unavailable"}}""".formatted(GRAPHQL));
    server.addStubMapping(failure);
    try {
      assertEquals(503, call("POST", GRAPHQL, set("f1", 1, 10)).statusCode());
      assertEquals(10, (Integer) level().get("available"));
    } finally {
      server.removeStubMapping(failure);
    }
    assertEquals(200, call("POST", GRAPHQL, set("f1", 1, 10)).statusCode());
    assertEquals(1, (Integer) level().get("available"));
  }

  @Test
  void aDryBucketAnswersThrottledAndAppliesNothing() throws Exception {
    seed(0);
    StubMapping small = StubMapping.buildFrom("""
        {"priority": 1, "request": {"method": "POST", "urlPath": "/admin/api/small/graphql.json"},
         "response": {"status": 200, "headers": {"Content-Type": "application/json"}, "transformers": ["shopify-leaky-bucket"],
                      "transformerParameters": {"standIn": true, "bucket": "small-test", "maximumAvailable": 25}}}""");
    server.addStubMapping(small);
    try {
      assertNull(at(json(call("POST", "/admin/api/small/graphql.json", adjust("t1", 1))), "errors"));
      Map<String, Object> second = json(call("POST", "/admin/api/small/graphql.json", adjust("t2", 1)));
      assertEquals(5, (Integer) at(second, "extensions", "cost", "throttleStatus", "currentlyAvailable"));
      Map<String, Object> throttled = json(call("POST", "/admin/api/small/graphql.json", adjust("t3", 1)));
      assertEquals("THROTTLED", at(throttled, "errors", 0, "extensions", "code"));
      assertNull(at(throttled, "extensions", "cost", "actualQueryCost"));
      assertEquals(2, (Integer) level().get("available"), "the throttled adjustment applied nothing");
      // The key of a throttled call was never seen: its retry applies, once the bucket has room.
      nanos.addAndGet(1_000_000_000L);
      assertNull(at(json(call("POST", "/admin/api/small/graphql.json", adjust("t3", 1))), "errors"));
      assertEquals(3, (Integer) level().get("available"));
    } finally {
      server.removeStubMapping(small);
    }
  }

  @Test
  void theCatalogueAndSubscriptionsThroughTheAdminApi() throws Exception {
    String catalogue = """
        {"products": [{"id": "7523456789001", "title": "T-shirt", "variants": [
          {"id": "50000000000002", "sku": "TS-M", "price": "24.90", "inventoryItemId": "44123456780002", "tracked": true},
          {"id": "50000000000001", "sku": "TS-S", "price": "24.90", "inventoryItemId": "44123456780001", "tracked": false}]}]}""";
    HttpResponse<String> put = call("PUT", "/__admin/shopify/catalogue", catalogue);
    assertEquals(200, put.statusCode(), put.body());
    Map<String, Object> page = json(call("POST", GRAPHQL,
        "{\"query\": \"{ productVariants(first: 1) { pageInfo { hasNextPage } nodes { sku inventoryItem { id tracked } } } }\"}"));
    assertEquals(Map.of("pageInfo", Map.of("hasNextPage", true),
            "nodes", List.of(Map.of("sku", "TS-S", "inventoryItem", Map.of("id", "gid://shopify/InventoryItem/44123456780001", "tracked", false)))),
        at(page, "data", "productVariants"));
    assertEquals(3, (Integer) at(page, "extensions", "cost", "requestedQueryCost"));

    json(call("POST", GRAPHQL, """
        {"query": "mutation($topic: WebhookSubscriptionTopic!, $sub: WebhookSubscriptionInput!) { webhookSubscriptionCreate(topic: $topic, webhookSubscription: $sub) { webhookSubscription { id } userErrors { message } } }",
         "variables": {"topic": "REFUNDS_CREATE", "sub": {"uri": "https://oms.test/webhooks/refunds"}}}"""));
    List<Map<String, Object>> subscriptions = at(json(call("GET", "/__admin/shopify/webhook-subscriptions", null)), "subscriptions");
    assertEquals(1, subscriptions.size());
    assertEquals("REFUNDS_CREATE", subscriptions.get(0).get("topic"));
    assertTrue(((String) subscriptions.get(0).get("id")).matches("\\d+"));
    assertEquals(400, call("PUT", "/__admin/shopify/inventory-levels", "{\"levels\":[{\"inventoryItemId\":\"x\"}]}").statusCode());
  }
}
