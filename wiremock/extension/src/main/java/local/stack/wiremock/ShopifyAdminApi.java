package local.stack.wiremock;

import static com.github.tomakehurst.wiremock.http.RequestMethod.DELETE;
import static com.github.tomakehurst.wiremock.http.RequestMethod.GET;
import static com.github.tomakehurst.wiremock.http.RequestMethod.POST;
import static com.github.tomakehurst.wiremock.http.RequestMethod.PUT;

import com.github.tomakehurst.wiremock.admin.Router;
import com.github.tomakehurst.wiremock.client.ResponseDefinitionBuilder;
import com.github.tomakehurst.wiremock.common.Json;
import com.github.tomakehurst.wiremock.common.JsonException;
import com.github.tomakehurst.wiremock.http.QueryParameter;
import com.github.tomakehurst.wiremock.http.ResponseDefinition;
import com.github.tomakehurst.wiremock.stubbing.ServeEvent;
import java.math.BigInteger;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import wiremock.com.fasterxml.jackson.annotation.JsonInclude;
import wiremock.com.fasterxml.jackson.core.JsonProcessingException;
import wiremock.com.fasterxml.jackson.databind.ObjectMapper;
import wiremock.com.fasterxml.jackson.databind.SerializationFeature;

/**
 * The stand-in's test interface under {@code /__admin/shopify/} (docs/spec.md 6.1): what tests, the
 * benchmark and probes use to set up the shop and read what the system did to it. Ids are decimal
 * strings (a JSON integer or a gid is taken too), bodies JSON; a refused call applies nothing.
 */
final class ShopifyAdminApi {
  private static final Pattern ID = Pattern.compile("(?:gid://shopify/[A-Za-z]+/)?(\\d{1,19})");
  private static final ObjectMapper JSON =
      Json.getObjectMapper().copy().setSerializationInclusion(JsonInclude.Include.ALWAYS).disable(SerializationFeature.INDENT_OUTPUT);

  private final Shop shop;

  ShopifyAdminApi(Shop shop) {
    this.shop = shop;
  }

  /**
   * Each route is its own lambda, so its own class: WireMock finds a route's path template by its
   * task's class, and two routes sharing one would be parsed against the wrong path.
   */
  void routes(Router router) {
    router.add(PUT, "/shopify/inventory-levels", (admin, event, params) -> handle(() -> levels(shop.seed(lines(body(event), "levels", "available", false)))));
    router.add(GET, "/shopify/inventory-levels", (admin, event, params) -> handle(() -> {
      QueryParameter item = event.getRequest().queryParameter("inventoryItemId");
      return levels(shop.levels(item.isPresent() ? id(item.firstValue(), "inventoryItemId") : null));
    }));
    router.add(POST, "/shopify/orders", (admin, event, params) -> handle(() -> levels(shop.move(lines(body(event), "lineItems", "quantity", true), false))));
    router.add(POST, "/shopify/restocks", (admin, event, params) -> handle(() -> levels(shop.move(lines(body(event), "lineItems", "quantity", true), true))));
    router.add(PUT, "/shopify/catalogue", (admin, event, params) -> handle(() -> catalogue(body(event))));
    router.add(GET, "/shopify/webhook-subscriptions", (admin, event, params) -> handle(this::subscriptions));
    router.add(DELETE, "/shopify", (admin, event, params) -> {
      shop.forget();
      return ResponseDefinitionBuilder.responseDefinition().withStatus(204).build();
    });
  }

  private interface Answer {
    Object get();
  }

  private static ResponseDefinition handle(Answer answer) {
    try {
      return json(200, answer.get());
    } catch (Shop.Refused e) {
      return json(e.status, Map.of("error", e.getMessage()));
    } catch (RuntimeException e) {
      // WireMock would answer an empty 500: say what broke.
      return json(500, Map.of("error", String.valueOf(e)));
    }
  }

  private static ResponseDefinition json(int status, Object body) {
    try {
      return ResponseDefinitionBuilder.responseDefinition()
          .withStatus(status)
          .withHeader("Content-Type", "application/json")
          .withBody(JSON.writeValueAsString(body))
          .build();
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("JSON values always serialise", e);
    }
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> body(ServeEvent event) {
    String text = event.getRequest().getBodyAsString();
    try {
      if (text != null && !text.isBlank() && Json.read(text, Object.class) instanceof Map<?, ?> map) return (Map<String, Object>) map;
    } catch (JsonException e) {
      // refused below
    }
    throw new Shop.Refused(400, "the body must be a JSON object");
  }

  private static List<Map<String, Object>> list(Map<String, Object> body, String name) {
    if (!(body.get(name) instanceof List<?> list)) throw new Shop.Refused(400, "\"" + name + "\" must be a list");
    List<Map<String, Object>> out = new ArrayList<>(list.size());
    for (Object item : list) out.add(object(item, name));
    return out;
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> object(Object value, String what) {
    if (value instanceof Map<?, ?> map) return (Map<String, Object>) map;
    throw new Shop.Refused(400, "every entry of \"" + what + "\" must be an object");
  }

  private static List<Shop.Line> lines(Map<String, Object> body, String listName, String amountName, boolean positive) {
    List<Shop.Line> lines = new ArrayList<>();
    for (Map<String, Object> entry : list(body, listName)) {
      long amount = integer(entry.get(amountName), amountName);
      if (positive && amount <= 0) throw new Shop.Refused(400, "\"" + amountName + "\" must be a positive integer, got " + amount);
      lines.add(new Shop.Line(id(entry.get("inventoryItemId"), "inventoryItemId"), id(entry.get("locationId"), "locationId"), amount));
    }
    return lines;
  }

  static long id(Object value, String what) {
    if (value instanceof Integer || value instanceof Long) return ((Number) value).longValue();
    if (value instanceof BigInteger b && b.bitLength() < 64) return b.longValue();
    if (value instanceof String s) {
      Matcher m = ID.matcher(s.trim());
      if (m.matches()) {
        try {
          return Long.parseLong(m.group(1));
        } catch (NumberFormatException e) {
          // beyond 64 bits: refused below
        }
      }
    }
    throw new Shop.Refused(400, "\"" + what + "\" must be an id (a decimal string), got " + value);
  }

  private static long integer(Object value, String what) {
    if (value instanceof Integer || value instanceof Long) return ((Number) value).longValue();
    throw new Shop.Refused(400, "\"" + what + "\" must be an integer, got " + value);
  }

  /** Levels as GET answers them; read under the shop's lock, as requests change them meanwhile. */
  private Map<String, Object> levels(List<Shop.Level> levels) {
    synchronized (shop) {
      return levelsHeld(levels);
    }
  }

  private static Map<String, Object> levelsHeld(List<Shop.Level> levels) {
    List<Object> out = new ArrayList<>(levels.size());
    for (Shop.Level level : levels) {
      List<Object> history = new ArrayList<>();
      for (Shop.Change c : level.history()) {
        Map<String, Object> change = new LinkedHashMap<>();
        change.put("available", c.available());
        change.put("delta", c.delta());
        change.put("cause", c.cause().name());
        change.put("at", Instant.ofEpochMilli(c.atMillis()).toString());
        if (c.reason() != null) change.put("reason", c.reason());
        if (c.referenceDocumentUri() != null) change.put("referenceDocumentUri", c.referenceDocumentUri());
        history.add(change);
      }
      Map<String, Object> entry = new LinkedHashMap<>();
      entry.put("inventoryItemId", Long.toString(level.inventoryItemId));
      entry.put("locationId", Long.toString(level.locationId));
      entry.put("available", level.available());
      entry.put("history", history);
      out.add(entry);
    }
    return Map.of("levels", out);
  }

  private Object catalogue(Map<String, Object> body) {
    List<Shop.Product> products = new ArrayList<>();
    List<Shop.Variant> variants = new ArrayList<>();
    for (Map<String, Object> p : list(body, "products")) {
      Shop.Product product = new Shop.Product(id(p.get("id"), "products[].id"), text(p.get("title"), "products[].title", ""));
      products.add(product);
      Object given = p.get("variants");
      if (given == null) continue;
      if (!(given instanceof List<?> list)) throw new Shop.Refused(400, "\"variants\" must be a list");
      for (Object item : list) {
        Map<String, Object> v = object(item, "variants");
        Object tracked = v.getOrDefault("tracked", Boolean.TRUE);
        if (!(tracked instanceof Boolean)) throw new Shop.Refused(400, "\"tracked\" must be a boolean");
        Object price = v.get("price");
        variants.add(new Shop.Variant(
            id(v.get("id"), "variants[].id"),
            text(v.get("sku"), "variants[].sku", null),
            price == null ? "0.00" : price instanceof Number || price instanceof String ? price.toString() : text(price, "price", null),
            text(v.get("title"), "variants[].title", "Default Title"),
            product,
            id(v.get("inventoryItemId"), "variants[].inventoryItemId"),
            (Boolean) tracked));
      }
    }
    shop.replaceCatalogue(products, variants);
    return Map.of("products", products.size(), "variants", variants.size());
  }

  private static String text(Object value, String what, String fallback) {
    if (value == null) return fallback;
    if (value instanceof String s) return s;
    throw new Shop.Refused(400, "\"" + what + "\" must be a string");
  }

  private Object subscriptions() {
    List<Object> out = new ArrayList<>();
    for (Shop.Subscription s : shop.subscriptions()) {
      Map<String, Object> entry = new LinkedHashMap<>();
      entry.put("id", Long.toString(s.id()));
      entry.put("topic", s.topic());
      entry.put("uri", s.uri());
      out.add(entry);
    }
    return Map.of("subscriptions", out);
  }
}
