package local.stack.wiremock;

import com.github.tomakehurst.wiremock.common.Json;
import com.github.tomakehurst.wiremock.common.JsonException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import wiremock.com.fasterxml.jackson.core.JsonProcessingException;
import wiremock.com.fasterxml.jackson.databind.ObjectMapper;
import wiremock.com.fasterxml.jackson.databind.SerializationFeature;

/**
 * Shopify's Admin GraphQL API over a {@link Shop}: the operations the system sends, recognised by
 * their root fields, answered with exactly the fields their selections ask for. A request is first
 * prepared (parsed, checked against the schema below, priced), then, once the leaky bucket has
 * granted its cost, executed. Anything the stand-in does not know is a top-level GraphQL error,
 * never a silent success.
 */
final class ShopifyGraphql {
  static final int MAX_PAGE = 250;
  static final List<String> ACCESS_SCOPES = List.of("read_orders", "read_products", "read_inventory", "write_inventory");
  private static final int DOCUMENT_CACHE = 512;
  private static final Pattern GID = Pattern.compile("gid://shopify/([A-Za-z]+)/(\\d{1,19})(?:\\?.*)?");
  private static final Pattern CURSOR_ID = Pattern.compile("\"last_id\"\\s*:\\s*(\\d{1,19})");
  private static final ObjectMapper CANONICAL =
      Json.getObjectMapper().copy().enable(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS).disable(SerializationFeature.INDENT_OUTPUT);

  // ---- the schema: type → field → the field's type (lists and non-null left out) ----
  private static final Set<String> SCALARS = Set.of("ID", "String", "Int", "Boolean", "DateTime", "Decimal", "Money", "URL");
  private static final Set<String> NODE_TYPES =
      Set.of("InventoryItem", "InventoryLevel", "Location", "Product", "ProductVariant", "WebhookSubscription", "InventoryAdjustmentGroup");
  private static final Map<String, Map<String, String>> SCHEMA = schema();

  private static Map<String, Map<String, String>> schema() {
    Map<String, Map<String, String>> s = new LinkedHashMap<>();
    s.put("QueryRoot", Map.of(
        "nodes", "Node", "node", "Node", "inventoryItem", "InventoryItem", "location", "Location", "product", "Product",
        "productVariant", "ProductVariant", "productVariants", "ProductVariantConnection",
        "webhookSubscriptions", "WebhookSubscriptionConnection", "currentAppInstallation", "AppInstallation"));
    s.put("Mutation", Map.of(
        "inventorySetQuantities", "InventorySetQuantitiesPayload", "inventoryAdjustQuantities", "InventoryAdjustQuantitiesPayload",
        "webhookSubscriptionCreate", "WebhookSubscriptionCreatePayload", "webhookSubscriptionUpdate", "WebhookSubscriptionUpdatePayload",
        "webhookSubscriptionDelete", "WebhookSubscriptionDeletePayload"));
    s.put("Node", Map.of("id", "ID"));
    s.put("InventoryItem", Map.of("id", "ID", "legacyResourceId", "String", "sku", "String", "tracked", "Boolean",
        "inventoryLevel", "InventoryLevel", "variant", "ProductVariant"));
    s.put("InventoryLevel", Map.of("id", "ID", "quantities", "InventoryQuantity", "item", "InventoryItem", "location", "Location",
        "updatedAt", "DateTime"));
    s.put("InventoryQuantity", Map.of("name", "String", "quantity", "Int"));
    s.put("Location", Map.of("id", "ID", "legacyResourceId", "String", "name", "String", "isActive", "Boolean"));
    s.put("Product", Map.of("id", "ID", "legacyResourceId", "String", "title", "String"));
    s.put("ProductVariant", Map.of("id", "ID", "legacyResourceId", "String", "sku", "String", "price", "Money", "title", "String",
        "displayName", "String", "product", "Product", "inventoryItem", "InventoryItem"));
    s.put("ProductVariantConnection", Map.of("nodes", "ProductVariant", "edges", "ProductVariantEdge", "pageInfo", "PageInfo"));
    s.put("ProductVariantEdge", Map.of("cursor", "String", "node", "ProductVariant"));
    s.put("WebhookSubscriptionConnection",
        Map.of("nodes", "WebhookSubscription", "edges", "WebhookSubscriptionEdge", "pageInfo", "PageInfo"));
    s.put("WebhookSubscriptionEdge", Map.of("cursor", "String", "node", "WebhookSubscription"));
    s.put("PageInfo", Map.of("hasNextPage", "Boolean", "hasPreviousPage", "Boolean", "startCursor", "String", "endCursor", "String"));
    s.put("WebhookSubscription", Map.of("id", "ID", "legacyResourceId", "String", "topic", "String", "uri", "String",
        "callbackUrl", "URL", "format", "String"));
    s.put("AppInstallation", Map.of("id", "ID", "accessScopes", "AccessScope"));
    s.put("AccessScope", Map.of("handle", "String", "description", "String"));
    for (String payload : List.of("InventorySetQuantitiesPayload", "InventoryAdjustQuantitiesPayload")) {
      s.put(payload, Map.of("inventoryAdjustmentGroup", "InventoryAdjustmentGroup", "userErrors", payload.replace("Payload", "UserError")));
      s.put(payload.replace("Payload", "UserError"), Map.of("field", "String", "message", "String", "code", "String"));
    }
    s.put("InventoryAdjustmentGroup", Map.of("id", "ID", "createdAt", "DateTime", "reason", "String",
        "referenceDocumentUri", "String", "changes", "InventoryChange"));
    s.put("InventoryChange", Map.of("name", "String", "delta", "Int", "quantityAfterChange", "Int", "item", "InventoryItem",
        "location", "Location", "ledgerDocumentUri", "String"));
    for (String payload : List.of("WebhookSubscriptionCreatePayload", "WebhookSubscriptionUpdatePayload")) {
      s.put(payload, Map.of("webhookSubscription", "WebhookSubscription", "userErrors", "UserError"));
    }
    s.put("WebhookSubscriptionDeletePayload", Map.of("deletedWebhookSubscriptionId", "ID", "userErrors", "UserError"));
    s.put("UserError", Map.of("field", "String", "message", "String"));
    return Map.copyOf(s);
  }

  /** A request parsed, checked and priced; `error` set when it can only be refused. */
  record Prepared(Gql.Operation operation, Map<String, Gql.Fragment> fragments, Map<String, Object> variables, double cost, Gql.Error error) {}

  private final Shop shop;
  private final Map<String, Object> documents = new ConcurrentHashMap<>();

  ShopifyGraphql(Shop shop) {
    this.shop = shop;
  }

  Shop shop() {
    return shop;
  }

  // ---- preparing ----

  @SuppressWarnings("unchecked")
  Prepared prepare(String requestBody, Plan plan) {
    try {
      Object parsed;
      try {
        parsed = requestBody == null || requestBody.isBlank() ? null : Json.read(requestBody, Object.class);
      } catch (JsonException e) {
        parsed = null;
      }
      if (!(parsed instanceof Map<?, ?> body) || !(body.get("query") instanceof String query)) {
        throw new Gql.Error("The request body must be JSON with a \"query\" string", "BAD_REQUEST");
      }
      Gql.Document document = document(query);
      Gql.Operation operation = document.operation(body.get("operationName") instanceof String n ? n : null);
      Map<String, Object> variables = new LinkedHashMap<>(operation.variableDefaults());
      if (body.get("variables") instanceof Map<?, ?> given) variables.putAll((Map<String, Object>) given);
      String rootType = switch (operation.type()) {
        case "query" -> "QueryRoot";
        case "mutation" -> "Mutation";
        default -> throw new Gql.Error("The Shopify stand-in does not support " + operation.type() + " operations", "BAD_REQUEST");
      };
      validate(rootType, operation.selections(), document.fragments(), new HashSet<>());
      return new Prepared(operation, document.fragments(), variables, cost(operation, variables, plan), null);
    } catch (Gql.Error e) {
      return new Prepared(null, Map.of(), Map.of(), plan.queryCost(), e);
    }
  }

  private Gql.Document document(String query) {
    Object cached = documents.get(query);
    if (cached == null) {
      try {
        cached = Gql.parse(query);
      } catch (Gql.Error e) {
        cached = e;
      }
      if (documents.size() >= DOCUMENT_CACHE) documents.clear();
      documents.put(query, cached);
    }
    if (cached instanceof Gql.Error e) throw e;
    return (Gql.Document) cached;
  }

  private static void validate(String type, List<Gql.Selection> selections, Map<String, Gql.Fragment> fragments, Set<String> spreading) {
    Map<String, String> fields = SCHEMA.get(type);
    for (Gql.Selection selection : selections) {
      if (selection instanceof Gql.Field f) {
        if (f.name().equals("__typename")) {
          if (!f.selections().isEmpty()) throw new Gql.Error("Selections can't be made on scalars (field '__typename')", "selectionMismatch");
          continue;
        }
        String fieldType = fields.get(f.name());
        if (fieldType == null) {
          String root = type.equals("QueryRoot") || type.equals("Mutation") ? " (the Shopify stand-in does not support this operation)" : "";
          throw new Gql.Error("Field '" + f.name() + "' doesn't exist on type '" + type + "'" + root, "undefinedField");
        }
        if (SCALARS.contains(fieldType)) {
          if (!f.selections().isEmpty()) {
            throw new Gql.Error("Selections can't be made on scalars (field '" + f.name() + "' returns " + fieldType + ")", "selectionMismatch");
          }
        } else {
          if (f.selections().isEmpty()) {
            throw new Gql.Error("Field '" + f.name() + "' of type '" + fieldType + "' must have a selection of subfields", "selectionMismatch");
          }
          validate(fieldType, f.selections(), fragments, spreading);
        }
      } else if (selection instanceof Gql.InlineFragment inline) {
        String on = inline.typeCondition() == null ? type : inline.typeCondition();
        if (!SCHEMA.containsKey(on)) throw new Gql.Error("No such type " + on + ", so it can't be a fragment condition", "undefinedType");
        validate(on, inline.selections(), fragments, spreading);
      } else if (selection instanceof Gql.FragmentSpread spread) {
        Gql.Fragment fragment = fragments.get(spread.name());
        if (fragment == null) throw new Gql.Error("Fragment " + spread.name() + " was used, but not defined", "useAndDefineFragment");
        if (!SCHEMA.containsKey(fragment.typeCondition())) {
          throw new Gql.Error("No such type " + fragment.typeCondition() + ", so it can't be a fragment condition", "undefinedType");
        }
        if (!spreading.add(spread.name())) throw new Gql.Error("Fragment " + spread.name() + " contains an infinite loop", "infiniteLoop");
        validate(fragment.typeCondition(), fragment.selections(), fragments, spreading);
        spreading.remove(spread.name());
      }
    }
  }

  /**
   * The requested cost: a mutation the plan's mutation cost (10); `nodes(ids:)` 1 + 1 per id; a
   * connection page 2 + its page size; any other root field 1.
   */
  static double cost(Gql.Operation operation, Map<String, Object> variables, Plan plan) {
    double total = 0;
    for (Gql.Selection selection : operation.selections()) {
      if (!(selection instanceof Gql.Field f)) {
        total += 1;
        continue;
      }
      if (f.name().equals("__typename")) continue;
      if (operation.isMutation()) {
        total += plan.mutationCost();
        continue;
      }
      switch (f.name()) {
        case "nodes" -> total += 1 + (Gql.resolve(f.arguments().get("ids"), variables) instanceof List<?> ids ? ids.size() : 0);
        case "productVariants", "webhookSubscriptions" -> {
          Object first = Gql.resolve(f.arguments().get("first"), variables);
          total += 2 + (first instanceof Number n ? Math.max(0, Math.min(MAX_PAGE, n.longValue())) : 0);
        }
        default -> total += 1;
      }
    }
    return Math.max(total, 1);
  }

  // ---- executing ----

  /** The answer: `{data}` or `{errors}`; the caller adds `extensions`. */
  Map<String, Object> execute(Prepared prepared) {
    Map<String, Object> answer = new LinkedHashMap<>();
    try {
      if (prepared.error() != null) throw prepared.error();
      Run run = new Run(prepared.variables(), prepared.fragments());
      Map<String, Object> data = prepared.operation().isMutation() ? mutate(prepared.operation(), run) : query(prepared.operation(), run);
      answer.put("data", data);
    } catch (Gql.Error e) {
      answer.put("errors", List.of(error(e)));
    }
    return answer;
  }

  static Map<String, Object> error(Gql.Error e) {
    Map<String, Object> error = new LinkedHashMap<>();
    error.put("message", e.getMessage());
    error.put("extensions", Map.of("code", e.code));
    return error;
  }

  private Map<String, Object> query(Gql.Operation operation, Run run) {
    synchronized (shop) {
      return run.object(new QueryRoot(), operation.selections());
    }
  }

  private Map<String, Object> mutate(Gql.Operation operation, Run run) {
    List<Gql.Field> roots = new ArrayList<>();
    for (Gql.Selection s : operation.selections()) {
      if (!(s instanceof Gql.Field f)) throw new Gql.Error("The Shopify stand-in takes a mutation's root field only as a plain field", "BAD_REQUEST");
      if (!f.name().equals("__typename") && run.included(f.directives())) roots.add(f);
    }
    if (roots.size() != 1) throw new Gql.Error("The Shopify stand-in runs exactly one mutation per request, not " + roots.size(), "BAD_REQUEST");
    Gql.Field field = roots.get(0);
    Map<String, Object> args = Gql.resolveArguments(field.arguments(), run.variables);
    String key = idempotencyKey(field, run);
    boolean inventory = field.name().startsWith("inventory");
    if (inventory && key == null) {
      throw new Gql.Error(
          "The @idempotent directive is required for " + field.name() + " (API 2026-04 and later): add @idempotent(key: \"<unique key>\")",
          "BAD_REQUEST");
    }
    // Everything that can refuse the request as a whole happens before the shop is touched.
    Shop.InventoryCall call = inventory ? inventoryCall(field.name().equals("inventorySetQuantities"), args) : null;
    String fingerprint = key == null ? null : field.name() + ":" + canonical(args);
    Map<String, Object> data = new LinkedHashMap<>();
    synchronized (shop) {
      if (key != null) {
        Shop.Remembered seen = shop.remembered(key);
        if (seen != null) {
          if (seen.fingerprint().equals(fingerprint)) {
            data.put(field.key(), seen.answer());
          } else {
            Map<String, Object> refused = new LinkedHashMap<>();
            refused.put("userErrors", List.of(userError(field.name(), new Shop.UserError(null,
                "The same idempotency key cannot be used with different operation parameters.", "IDEMPOTENCY_KEY_PARAMETER_MISMATCH"))));
            data.put(field.key(), run.object(new MapObj(payloadType(field.name()), refused), field.selections()));
          }
          return data;
        }
      }
      Obj payload = switch (field.name()) {
        case "inventorySetQuantities", "inventoryAdjustQuantities" -> inventoryPayload(field.name(), call, shop.apply(call));
        case "webhookSubscriptionCreate" -> subscriptionCreate(args);
        case "webhookSubscriptionUpdate" -> subscriptionUpdate(args);
        case "webhookSubscriptionDelete" -> subscriptionDelete(args);
        default -> throw new Gql.Error("Field '" + field.name() + "' doesn't exist on type 'Mutation'", "undefinedField");
      };
      Map<String, Object> rendered = run.object(payload, field.selections());
      if (key != null) shop.remember(key, fingerprint, rendered);
      data.put(field.key(), rendered);
    }
    return data;
  }

  private static String idempotencyKey(Gql.Field field, Run run) {
    Gql.Directive idempotent = field.directive("idempotent");
    if (idempotent == null) return null;
    Object key = Gql.resolve(idempotent.arguments().get("key"), run.variables);
    if (!(key instanceof String k) || k.isBlank()) {
      throw new Gql.Error("@idempotent(key:) needs a non-empty string key", "BAD_REQUEST");
    }
    return k;
  }

  private static String payloadType(String mutation) {
    return SCHEMA.get("Mutation").get(mutation);
  }

  private static String canonical(Object value) {
    try {
      return CANONICAL.writeValueAsString(value);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("JSON values always serialise", e);
    }
  }

  // ---- inventory mutations ----

  private static Shop.InventoryCall inventoryCall(boolean isSet, Map<String, Object> args) {
    Map<String, Object> input = map(args.get("input"), "input");
    String listName = isSet ? "quantities" : "changes";
    String name = string(input.get("name"), "input.name", true);
    String reason = string(input.get("reason"), "input.reason", true);
    String referenceDocumentUri = string(input.get("referenceDocumentUri"), "input.referenceDocumentUri", false);
    if (!(input.get(listName) instanceof List<?> list)) throw invalid("input." + listName, "Expected a list");
    List<Shop.Entry> entries = new ArrayList<>(list.size());
    for (int i = 0; i < list.size(); i++) {
      String at = "input." + listName + "." + i;
      Map<String, Object> q = map(list.get(i), at);
      long item = gid(q.get("inventoryItemId"), "InventoryItem", at + ".inventoryItemId");
      long location = gid(q.get("locationId"), "Location", at + ".locationId");
      String amountName = isSet ? "quantity" : "delta";
      Long amount = integer(q.get(amountName), at + "." + amountName);
      if (amount == null) throw invalid(at + "." + amountName, "Expected value to not be null");
      if (!q.containsKey("changeFromQuantity")) {
        throw invalid(at + ".changeFromQuantity", "changeFromQuantity is required from API 2026-04 (null opts out of the compare)");
      }
      Long changeFrom = integer(q.get("changeFromQuantity"), at + ".changeFromQuantity");
      String ledger = isSet ? null : string(q.get("ledgerDocumentUri"), at + ".ledgerDocumentUri", false);
      entries.add(new Shop.Entry(item, location, amount, changeFrom, ledger));
    }
    return new Shop.InventoryCall(isSet, name, reason, referenceDocumentUri, entries);
  }

  private Obj inventoryPayload(String mutation, Shop.InventoryCall call, Shop.Outcome outcome) {
    Map<String, Object> payload = new LinkedHashMap<>();
    if (outcome.applied()) {
      List<Object> changes = new ArrayList<>(outcome.changes().size());
      for (Shop.Applied a : outcome.changes()) {
        Map<String, Object> change = new LinkedHashMap<>();
        change.put("name", "available");
        change.put("delta", a.delta());
        change.put("quantityAfterChange", a.quantityAfterChange());
        change.put("item", new InventoryItemObj(a.inventoryItemId()));
        change.put("location", new LocationObj(a.locationId()));
        change.put("ledgerDocumentUri", a.ledgerDocumentUri());
        changes.add(new MapObj("InventoryChange", change));
      }
      Map<String, Object> group = new LinkedHashMap<>();
      group.put("id", "gid://shopify/InventoryAdjustmentGroup/" + outcome.groupId());
      group.put("createdAt", Instant.ofEpochMilli(outcome.atMillis()).truncatedTo(ChronoUnit.SECONDS).toString());
      group.put("reason", call.reason());
      group.put("referenceDocumentUri", call.referenceDocumentUri());
      group.put("changes", changes);
      payload.put("inventoryAdjustmentGroup", new MapObj("InventoryAdjustmentGroup", group));
    } else {
      payload.put("inventoryAdjustmentGroup", null);
    }
    List<Object> errors = new ArrayList<>();
    for (Shop.UserError e : outcome.userErrors()) errors.add(userError(mutation, e));
    payload.put("userErrors", errors);
    return new MapObj(payloadType(mutation), payload);
  }

  private static Obj userError(String mutation, Shop.UserError e) {
    Map<String, Object> error = new LinkedHashMap<>();
    error.put("field", e.field());
    error.put("message", e.message());
    error.put("code", e.code());
    String type = SCHEMA.get(payloadType(mutation)).get("userErrors");
    return new MapObj(type, error);
  }

  // ---- webhook subscriptions ----

  private Obj subscriptionCreate(Map<String, Object> args) {
    Object topicArg = args.get("topic");
    if (!(topicArg instanceof String topic) || !Shop.TOPICS.contains(topic)) {
      throw invalid("topic", "Expected one of " + Shop.TOPICS + " (the topics the stand-in knows), got " + topicArg);
    }
    String uri = address(map(args.get("webhookSubscription"), "webhookSubscription"));
    if (uri == null) return subscriptionPayload("WebhookSubscriptionCreatePayload", null, "Address is invalid");
    Shop.Subscription created = shop.subscribe(topic, uri);
    if (created == null) return subscriptionPayload("WebhookSubscriptionCreatePayload", null, "Address for this topic has already been taken");
    return subscriptionPayload("WebhookSubscriptionCreatePayload", created, null);
  }

  private Obj subscriptionUpdate(Map<String, Object> args) {
    long id = gid(args.get("id"), "WebhookSubscription", "id");
    String uri = address(map(args.get("webhookSubscription"), "webhookSubscription"));
    Shop.Subscription existing = shop.subscription(id);
    if (existing == null) return subscriptionError("WebhookSubscriptionUpdatePayload", List.of("id"), "Webhook subscription does not exist");
    if (uri == null) return subscriptionPayload("WebhookSubscriptionUpdatePayload", null, "Address is invalid");
    Shop.Subscription updated = shop.readdress(existing, uri);
    if (updated == null) return subscriptionPayload("WebhookSubscriptionUpdatePayload", null, "Address for this topic has already been taken");
    return subscriptionPayload("WebhookSubscriptionUpdatePayload", updated, null);
  }

  private Obj subscriptionDelete(Map<String, Object> args) {
    long id = gid(args.get("id"), "WebhookSubscription", "id");
    if (!shop.unsubscribe(id)) return subscriptionError("WebhookSubscriptionDeletePayload", List.of("id"), "Webhook subscription does not exist");
    Map<String, Object> payload = new LinkedHashMap<>();
    payload.put("deletedWebhookSubscriptionId", "gid://shopify/WebhookSubscription/" + id);
    payload.put("userErrors", List.of());
    return new MapObj("WebhookSubscriptionDeletePayload", payload);
  }

  /** The subscription's address (`uri`, or the older `callbackUrl`); null when it is no absolute URI. */
  private static String address(Map<String, Object> input) {
    Object uri = input.containsKey("uri") ? input.get("uri") : input.get("callbackUrl");
    if (!(uri instanceof String u) || u.isBlank()) return null;
    try {
      return java.net.URI.create(u).isAbsolute() ? u : null;
    } catch (IllegalArgumentException e) {
      return null;
    }
  }

  private Obj subscriptionPayload(String type, Shop.Subscription subscription, String addressError) {
    if (addressError != null) return subscriptionError(type, List.of("webhookSubscription", "uri"), addressError);
    Map<String, Object> payload = new LinkedHashMap<>();
    payload.put("webhookSubscription", new SubscriptionObj(subscription));
    payload.put("userErrors", List.of());
    return new MapObj(type, payload);
  }

  private static Obj subscriptionError(String type, List<String> field, String message) {
    Map<String, Object> error = new LinkedHashMap<>();
    error.put("field", field);
    error.put("message", message);
    Map<String, Object> payload = new LinkedHashMap<>();
    payload.put("userErrors", List.of(new MapObj("UserError", error)));
    return new MapObj(type, payload);
  }

  // ---- argument helpers ----

  static Gql.Error invalid(String at, String problem) {
    return new Gql.Error("Variable or argument " + at + " has an invalid value: " + problem, "INVALID_VARIABLE");
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> map(Object value, String at) {
    if (value instanceof Map<?, ?> m) return (Map<String, Object>) m;
    throw invalid(at, value == null ? "Expected value to not be null" : "Expected an input object");
  }

  private static String string(Object value, String at, boolean required) {
    if (value == null) {
      if (required) throw invalid(at, "Expected value to not be null");
      return null;
    }
    if (value instanceof String s) return s;
    throw invalid(at, "Expected a string");
  }

  static Long integer(Object value, String at) {
    if (value == null) return null;
    if (value instanceof Integer || value instanceof Long || value instanceof Short) return ((Number) value).longValue();
    if (value instanceof BigInteger b && b.bitLength() < 64) return b.longValue();
    throw invalid(at, "Expected an Int, got " + value);
  }

  /** The numeric id of a gid of the given type, e.g. gid://shopify/InventoryItem/44123456780001. */
  static long gid(Object value, String type, String at) {
    if (value instanceof String s) {
      Matcher m = GID.matcher(s);
      if (m.matches() && m.group(1).equals(type)) {
        try {
          return Long.parseLong(m.group(2));
        } catch (NumberFormatException e) {
          // beyond 64 bits: invalid below
        }
      }
      throw invalid(at, "Invalid global id '" + s + "' (expected gid://shopify/" + type + "/<id>)");
    }
    throw invalid(at, value == null ? "Expected value to not be null" : "Expected a global id string");
  }

  static String cursor(long id) {
    String json = "{\"last_id\":" + id + ",\"last_value\":\"" + id + "\"}";
    return Base64.getEncoder().encodeToString(json.getBytes(StandardCharsets.UTF_8));
  }

  private static Long after(Object value) {
    if (value == null) return null;
    if (value instanceof String s) {
      try {
        Matcher m = CURSOR_ID.matcher(new String(Base64.getDecoder().decode(s), StandardCharsets.UTF_8));
        if (m.find()) return Long.parseLong(m.group(1));
      } catch (IllegalArgumentException e) {
        // not base64 or not a number: invalid below
      }
    }
    throw new Gql.Error("Invalid cursor for current pagination sort.", "BAD_REQUEST");
  }

  private static int first(Map<String, Object> args, String field) {
    if (args.get("last") != null || args.get("before") != null) {
      throw new Gql.Error("The Shopify stand-in pages " + field + " forward only (first/after)", "BAD_REQUEST");
    }
    Long first = integer(args.get("first"), field + ".first");
    if (first == null) throw new Gql.Error("You must provide one of first or last", "BAD_REQUEST");
    if (first < 0 || first > MAX_PAGE) {
      throw new Gql.Error("The first argument of " + field + " must be between 0 and " + MAX_PAGE + ", got " + first, "BAD_REQUEST");
    }
    return first.intValue();
  }

  // ---- the objects a selection reads ----

  /** A GraphQL object: its type's name and its fields, some of them taking arguments. */
  abstract static class Obj {
    final String typename;

    Obj(String typename) {
      this.typename = typename;
    }

    abstract Object get(String field, Map<String, Object> args);
  }

  static final class MapObj extends Obj {
    private final Map<String, Object> values;

    MapObj(String typename, Map<String, Object> values) {
      super(typename);
      this.values = values;
    }

    @Override
    Object get(String field, Map<String, Object> args) {
      return values.get(field);
    }
  }

  /** Renders objects through selection sets, with the request's variables and fragments. */
  private static final class Run {
    final Map<String, Object> variables;
    final Map<String, Gql.Fragment> fragments;

    Run(Map<String, Object> variables, Map<String, Gql.Fragment> fragments) {
      this.variables = variables;
      this.fragments = fragments;
    }

    Map<String, Object> object(Obj obj, List<Gql.Selection> selections) {
      Map<String, Object> out = new LinkedHashMap<>();
      collect(obj, selections, out);
      return out;
    }

    private Object value(Object value, List<Gql.Selection> selections) {
      if (value == null || selections.isEmpty()) return value;
      if (value instanceof List<?> list) {
        List<Object> out = new ArrayList<>(list.size());
        for (Object item : list) out.add(value(item, selections));
        return out;
      }
      return object((Obj) value, selections);
    }

    @SuppressWarnings("unchecked")
    private void collect(Obj obj, List<Gql.Selection> selections, Map<String, Object> out) {
      for (Gql.Selection selection : selections) {
        if (selection instanceof Gql.Field f) {
          if (!included(f.directives())) continue;
          Object value = f.name().equals("__typename")
              ? obj.typename
              : value(obj.get(f.name(), Gql.resolveArguments(f.arguments(), variables)), f.selections());
          if (out.get(f.key()) instanceof Map<?, ?> earlier && value instanceof Map<?, ?> later) {
            ((Map<String, Object>) earlier).putAll((Map<String, Object>) later);
          } else {
            out.put(f.key(), value);
          }
        } else if (selection instanceof Gql.InlineFragment inline) {
          if (included(inline.directives()) && applies(inline.typeCondition(), obj)) collect(obj, inline.selections(), out);
        } else if (selection instanceof Gql.FragmentSpread spread) {
          Gql.Fragment fragment = fragments.get(spread.name());
          if (included(spread.directives()) && applies(fragment.typeCondition(), obj)) collect(obj, fragment.selections(), out);
        }
      }
    }

    private static boolean applies(String typeCondition, Obj obj) {
      return typeCondition == null || typeCondition.equals(obj.typename) || (typeCondition.equals("Node") && NODE_TYPES.contains(obj.typename));
    }

    boolean included(List<Gql.Directive> directives) {
      for (Gql.Directive d : directives) {
        if (d.name().equals("skip") && Boolean.TRUE.equals(Gql.resolve(d.arguments().get("if"), variables))) return false;
        if (d.name().equals("include") && !Boolean.TRUE.equals(Gql.resolve(d.arguments().get("if"), variables))) return false;
      }
      return true;
    }
  }

  private final class QueryRoot extends Obj {
    QueryRoot() {
      super("QueryRoot");
    }

    @Override
    Object get(String field, Map<String, Object> args) {
      return switch (field) {
        case "nodes" -> {
          if (!(args.get("ids") instanceof List<?> ids)) throw invalid("ids", "Expected a list of ids");
          List<Object> nodes = new ArrayList<>(ids.size());
          for (int i = 0; i < ids.size(); i++) nodes.add(node(ids.get(i), "ids." + i));
          yield nodes;
        }
        case "node" -> node(args.get("id"), "id");
        case "inventoryItem" -> {
          long id = gid(args.get("id"), "InventoryItem", "id");
          yield shop.knowsItem(id) ? new InventoryItemObj(id) : null;
        }
        case "location" -> {
          long id = gid(args.get("id"), "Location", "id");
          yield shop.knowsLocation(id) ? new LocationObj(id) : null;
        }
        case "productVariant" -> {
          Shop.Variant v = shop.variant(gid(args.get("id"), "ProductVariant", "id"));
          yield v == null ? null : new VariantObj(v);
        }
        case "product" -> {
          Shop.Product p = shop.product(gid(args.get("id"), "Product", "id"));
          yield p == null ? null : new ProductObj(p);
        }
        case "productVariants" -> {
          int first = first(args, field);
          List<Shop.Variant> page = shop.variantsAfter(after(args.get("after")), first);
          List<Obj> nodes = new ArrayList<>();
          List<Long> ids = new ArrayList<>();
          for (Shop.Variant v : page.subList(0, Math.min(first, page.size()))) {
            nodes.add(new VariantObj(v));
            ids.add(v.id());
          }
          yield connection("ProductVariant", nodes, ids, page.size() > first, args.get("after") != null);
        }
        case "webhookSubscriptions" -> {
          int first = first(args, field);
          Long after = after(args.get("after"));
          List<?> topics = args.get("topics") instanceof List<?> t ? t : null;
          List<Obj> nodes = new ArrayList<>();
          List<Long> ids = new ArrayList<>();
          boolean more = false;
          for (Shop.Subscription s : shop.subscriptions()) {
            if ((after != null && s.id() <= after) || (topics != null && !topics.contains(s.topic()))) continue;
            if (nodes.size() == first) {
              more = true;
              break;
            }
            nodes.add(new SubscriptionObj(s));
            ids.add(s.id());
          }
          yield connection("WebhookSubscription", nodes, ids, more, after != null);
        }
        case "currentAppInstallation" -> {
          List<Object> scopes = new ArrayList<>();
          for (String handle : ACCESS_SCOPES) scopes.add(new MapObj("AccessScope", Map.of("handle", handle, "description", handle)));
          yield new MapObj("AppInstallation", Map.of("id", "gid://shopify/AppInstallation/1", "accessScopes", scopes));
        }
        default -> throw new Gql.Error("Field '" + field + "' doesn't exist on type 'QueryRoot'", "undefinedField");
      };
    }

    private Obj node(Object id, String at) {
      if (!(id instanceof String s)) throw invalid(at, "Expected a global id string");
      Matcher m = GID.matcher(s);
      if (!m.matches()) throw invalid(at, "Invalid global id '" + s + "'");
      long n;
      try {
        n = Long.parseLong(m.group(2));
      } catch (NumberFormatException e) {
        throw invalid(at, "Invalid global id '" + s + "'");
      }
      return switch (m.group(1)) {
        case "InventoryItem" -> shop.knowsItem(n) ? new InventoryItemObj(n) : null;
        case "Location" -> shop.knowsLocation(n) ? new LocationObj(n) : null;
        case "ProductVariant" -> {
          Shop.Variant v = shop.variant(n);
          yield v == null ? null : new VariantObj(v);
        }
        case "Product" -> {
          Shop.Product p = shop.product(n);
          yield p == null ? null : new ProductObj(p);
        }
        case "WebhookSubscription" -> {
          Shop.Subscription sub = shop.subscription(n);
          yield sub == null ? null : new SubscriptionObj(sub);
        }
        default -> null;
      };
    }
  }

  private static Obj connection(String type, List<Obj> nodes, List<Long> ids, boolean hasNextPage, boolean hasPreviousPage) {
    List<Object> edges = new ArrayList<>(nodes.size());
    for (int i = 0; i < nodes.size(); i++) {
      Map<String, Object> edge = new LinkedHashMap<>();
      edge.put("cursor", cursor(ids.get(i)));
      edge.put("node", nodes.get(i));
      edges.add(new MapObj(type + "Edge", edge));
    }
    Map<String, Object> pageInfo = new LinkedHashMap<>();
    pageInfo.put("hasNextPage", hasNextPage);
    pageInfo.put("hasPreviousPage", hasPreviousPage);
    pageInfo.put("startCursor", ids.isEmpty() ? null : cursor(ids.get(0)));
    pageInfo.put("endCursor", ids.isEmpty() ? null : cursor(ids.get(ids.size() - 1)));
    Map<String, Object> connection = new LinkedHashMap<>();
    connection.put("nodes", nodes);
    connection.put("edges", edges);
    connection.put("pageInfo", new MapObj("PageInfo", pageInfo));
    return new MapObj(type + "Connection", connection);
  }

  private final class InventoryItemObj extends Obj {
    private final long id;

    InventoryItemObj(long id) {
      super("InventoryItem");
      this.id = id;
    }

    @Override
    Object get(String field, Map<String, Object> args) {
      Shop.Variant variant = shop.variantOfItem(id);
      return switch (field) {
        case "id" -> "gid://shopify/InventoryItem/" + id;
        case "legacyResourceId" -> Long.toString(id);
        case "sku" -> variant == null ? null : variant.sku();
        case "tracked" -> variant == null || variant.tracked();
        case "variant" -> variant == null ? null : new VariantObj(variant);
        case "inventoryLevel" -> {
          Shop.Level level = shop.level(id, gid(args.get("locationId"), "Location", "inventoryLevel.locationId"));
          yield level == null ? null : new LevelObj(level);
        }
        default -> null;
      };
    }
  }

  private final class LevelObj extends Obj {
    private final Shop.Level level;

    LevelObj(Shop.Level level) {
      super("InventoryLevel");
      this.level = level;
    }

    @Override
    Object get(String field, Map<String, Object> args) {
      return switch (field) {
        case "id" -> "gid://shopify/InventoryLevel/" + level.locationId + "?inventory_item_id=" + level.inventoryItemId;
        case "item" -> new InventoryItemObj(level.inventoryItemId);
        case "location" -> new LocationObj(level.locationId);
        case "updatedAt" -> Instant.ofEpochMilli(level.updatedAtMillis()).truncatedTo(ChronoUnit.SECONDS).toString();
        case "quantities" -> {
          if (!(args.get("names") instanceof List<?> names)) throw invalid("quantities.names", "Expected a list of quantity names");
          List<Object> quantities = new ArrayList<>(names.size());
          for (Object name : names) {
            long quantity = switch (String.valueOf(name)) {
              // The stand-in keeps `available` only: nothing is committed, reserved or elsewhere.
              case "available", "on_hand" -> level.available();
              case "committed", "reserved", "damaged", "safety_stock", "quality_control", "incoming" -> 0;
              default -> throw invalid("quantities.names", "Invalid quantity name '" + name + "'");
            };
            quantities.add(new MapObj("InventoryQuantity", Map.of("name", name, "quantity", quantity)));
          }
          yield quantities;
        }
        default -> null;
      };
    }
  }

  private static final class LocationObj extends Obj {
    private final long id;

    LocationObj(long id) {
      super("Location");
      this.id = id;
    }

    @Override
    Object get(String field, Map<String, Object> args) {
      return switch (field) {
        case "id" -> "gid://shopify/Location/" + id;
        case "legacyResourceId" -> Long.toString(id);
        case "name" -> id == Shop.DEMO_LOCATION_ID ? "Demo warehouse" : "Location " + id;
        case "isActive" -> true;
        default -> null;
      };
    }
  }

  private final class VariantObj extends Obj {
    private final Shop.Variant v;

    VariantObj(Shop.Variant v) {
      super("ProductVariant");
      this.v = v;
    }

    @Override
    Object get(String field, Map<String, Object> args) {
      return switch (field) {
        case "id" -> "gid://shopify/ProductVariant/" + v.id();
        case "legacyResourceId" -> Long.toString(v.id());
        case "sku" -> v.sku();
        case "price" -> v.price();
        case "title" -> v.title();
        case "displayName" -> v.product().title() + " - " + v.title();
        case "product" -> new ProductObj(v.product());
        case "inventoryItem" -> new InventoryItemObj(v.inventoryItemId());
        default -> null;
      };
    }
  }

  private static final class ProductObj extends Obj {
    private final Shop.Product p;

    ProductObj(Shop.Product p) {
      super("Product");
      this.p = p;
    }

    @Override
    Object get(String field, Map<String, Object> args) {
      return switch (field) {
        case "id" -> "gid://shopify/Product/" + p.id();
        case "legacyResourceId" -> Long.toString(p.id());
        case "title" -> p.title();
        default -> null;
      };
    }
  }

  private static final class SubscriptionObj extends Obj {
    private final Shop.Subscription s;

    SubscriptionObj(Shop.Subscription s) {
      super("WebhookSubscription");
      this.s = s;
    }

    @Override
    Object get(String field, Map<String, Object> args) {
      return switch (field) {
        case "id" -> "gid://shopify/WebhookSubscription/" + s.id();
        case "legacyResourceId" -> Long.toString(s.id());
        case "topic" -> s.topic();
        case "uri", "callbackUrl" -> s.uri();
        case "format" -> "JSON";
        default -> null;
      };
    }
  }
}
