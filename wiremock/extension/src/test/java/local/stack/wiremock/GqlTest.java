package local.stack.wiremock;

import static local.stack.wiremock.ShopifyGraphqlTest.at;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

class GqlTest {
  @Test
  void parsesAliasesArgumentsDirectivesFragmentsCommentsAndLiterals() {
    Gql.Document doc = Gql.parse("""
        # a comment
        query Q($ids: [ID!]! = ["a"], $n: Int) @cached {
          first: nodes(ids: $ids) { ...Item @include(if: true) }
          other: location(id: "gid://shopify/Location/1", x: {a: [1, -2, 3.5e1, true, null, ENUM, \"""block\"""]}) { id }
        }
        fragment Item on InventoryItem { id }
        """);
    Gql.Operation op = doc.operation("Q");
    assertEquals(Map.of("ids", List.of("a")), op.variableDefaults());
    Gql.Field first = (Gql.Field) op.selections().get(0);
    assertEquals("first", first.key());
    assertEquals("nodes", first.name());
    assertEquals(new Gql.Variable("ids"), first.arguments().get("ids"));
    Gql.Field other = (Gql.Field) op.selections().get(1);
    List<Object> expected = new ArrayList<>(List.of(1L, -2L, 35.0, true));
    expected.add(null);
    expected.add("ENUM");
    expected.add("block");
    assertEquals(Map.of("a", expected), Gql.resolve(other.arguments().get("x"), Map.of()));
    assertEquals("InventoryItem", doc.fragments().get("Item").typeCondition());
    assertEquals(44123456780001L, Gql.resolve(Gql.parse("{ a(n: 44123456780001) { b } }").operation(null).selections().stream()
        .map(s -> ((Gql.Field) s).arguments().get("n")).findFirst().orElseThrow(), Map.of()), "64-bit literals stay exact");
    assertEquals("PARSE_ERROR", assertThrows(Gql.Error.class, () -> Gql.parse("{ a(")).code);
    assertEquals("PARSE_ERROR", assertThrows(Gql.Error.class, () -> Gql.parse("")).code);
  }

  @Test
  void concurrentMutationsAreEachAtomic() throws Exception {
    Shop shop = new Shop();
    ShopifyGraphql graphql = new ShopifyGraphql(shop);
    shop.seed(List.of(new Shop.Line(1, 65_432_109_876L, 0), new Shop.Line(2, 65_432_109_876L, 0)));
    String adjust = """
        {"query": "mutation($input: InventoryAdjustQuantitiesInput!, $k: String!) { inventoryAdjustQuantities(input: $input) @idempotent(key: $k) { userErrors { code } } }",
         "variables": {"k": "%s", "input": {"name": "available", "reason": "correction", "changes": [
           {"inventoryItemId": "gid://shopify/InventoryItem/1", "locationId": "gid://shopify/Location/65432109876", "delta": 1, "changeFromQuantity": null},
           {"inventoryItemId": "gid://shopify/InventoryItem/2", "locationId": "gid://shopify/Location/65432109876", "delta": -1, "changeFromQuantity": null}]}}}""";
    ExecutorService pool = Executors.newFixedThreadPool(8);
    try {
      List<Future<Map<String, Object>>> calls = new ArrayList<>();
      // 400 calls under 200 keys: each key applies once however its two calls interleave.
      for (int i = 0; i < 400; i++) {
        String body = adjust.formatted("key-" + (i % 200));
        calls.add(pool.submit(() -> graphql.execute(graphql.prepare(body, Plan.STANDARD))));
      }
      for (Future<Map<String, Object>> call : calls) assertEquals(List.of(), at(call.get(), "data", "inventoryAdjustQuantities", "userErrors"));
    } finally {
      pool.shutdown();
    }
    assertEquals(200, shop.level(1, 65_432_109_876L).available());
    assertEquals(-200, shop.level(2, 65_432_109_876L).available());
    assertEquals(201, shop.level(1, 65_432_109_876L).history().size());
  }
}
