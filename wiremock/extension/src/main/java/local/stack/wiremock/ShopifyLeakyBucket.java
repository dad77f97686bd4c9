package local.stack.wiremock;

import com.github.tomakehurst.wiremock.common.Json;
import com.github.tomakehurst.wiremock.common.JsonException;
import com.github.tomakehurst.wiremock.extension.Parameters;
import com.github.tomakehurst.wiremock.extension.ResponseTransformerV2;
import com.github.tomakehurst.wiremock.extension.StubLifecycleListener;
import com.github.tomakehurst.wiremock.http.Response;
import com.github.tomakehurst.wiremock.stubbing.ServeEvent;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;
import java.util.regex.Pattern;
import wiremock.com.fasterxml.jackson.annotation.JsonInclude;
import wiremock.com.fasterxml.jackson.core.JsonProcessingException;
import wiremock.com.fasterxml.jackson.databind.ObjectMapper;
import wiremock.com.fasterxml.jackson.databind.SerializationFeature;

/**
 * Makes a Shopify Admin GraphQL stub enforce Shopify's rate limit, for the stubs that name it in
 * "transformers". Each call takes its requested cost from the bucket: a granted call gets the stub's
 * answer with the real `extensions.cost`; a call the bucket cannot pay for gets Shopify's THROTTLED
 * answer (HTTP 200) instead. Stubs share the bucket named by their "bucket" transformer parameter
 * ("store" by default), so a test can drain a bucket of its own without throttling anyone else.
 * WireMock's reset (POST /__admin/reset) refills every bucket.
 */
public final class ShopifyLeakyBucket implements ResponseTransformerV2, StubLifecycleListener {
  public static final String NAME = "shopify-leaky-bucket";
  static final String DEFAULT_BUCKET = "store";
  private static final String RATE_LIMITS_DOCUMENTATION = "https://shopify.dev/api/usage/rate-limits";
  // An operation is a mutation when its first keyword says so (comments and whitespace skipped).
  private static final Pattern MUTATION = Pattern.compile("^(?:\\s|#[^\\n]*\\n)*mutation\\b");

  // WireMock's own writer drops nulls, but Shopify's answers carry them (actualQueryCost when
  // throttled, a stub's referenceDocumentUri), and it indents, which Shopify does not.
  private static final ObjectMapper JSON =
      Json.getObjectMapper()
          .copy()
          .setSerializationInclusion(JsonInclude.Include.ALWAYS)
          .disable(SerializationFeature.INDENT_OUTPUT);

  private final Map<String, LeakyBucket> buckets = new ConcurrentHashMap<>();
  private final Plan defaultPlan;
  private final LongSupplier nanoClock;

  public ShopifyLeakyBucket() {
    this(Plan.fromEnvironment(System.getenv()), System::nanoTime);
  }

  ShopifyLeakyBucket(Plan defaultPlan, LongSupplier nanoClock) {
    this.defaultPlan = defaultPlan;
    this.nanoClock = nanoClock;
  }

  @Override
  public String getName() {
    return NAME;
  }

  @Override
  public boolean applyGlobally() {
    return false;
  }

  @Override
  public Response transform(Response response, ServeEvent serveEvent) {
    Parameters parameters = serveEvent.getTransformerParameters();
    Plan plan = defaultPlan.overriddenBy(parameters);
    double cost = isMutation(serveEvent.getRequest().getBodyAsString()) ? plan.mutationCost() : plan.queryCost();
    long now = nanoClock.getAsLong();
    LeakyBucket.Outcome outcome = bucket(parameters.getString("bucket", DEFAULT_BUCKET), plan, now).take(cost, now);
    Map<String, Object> throttleStatus = throttleStatus(plan, outcome.currentlyAvailable());
    if (!outcome.granted()) {
      return Response.Builder.like(response).but().status(200).body(write(throttled(cost, throttleStatus))).build();
    }
    Map<String, Object> body = jsonObject(response.getBodyAsString());
    if (body == null) return response;
    Map<String, Object> extensions = new LinkedHashMap<>();
    if (body.get("extensions") instanceof Map<?, ?> existing) existing.forEach((k, v) -> extensions.put(k.toString(), v));
    extensions.put("cost", cost(cost, cost, throttleStatus));
    body.put("extensions", extensions);
    return Response.Builder.like(response).but().body(write(body)).build();
  }

  @Override
  public void afterStubsReset() {
    buckets.clear();
  }

  private LeakyBucket bucket(String name, Plan plan, long now) {
    LeakyBucket current = buckets.get(name);
    if (current != null && current.plan().equals(plan)) return current;
    // Buckets named by tests pile up; a full one is the same as none, so those go first.
    buckets.values().removeIf(b -> b.isFull(now));
    return buckets.compute(name, (k, b) -> b != null && b.plan().equals(plan) ? b : new LeakyBucket(plan, now));
  }

  static boolean isMutation(String requestBody) {
    Map<String, Object> body = jsonObject(requestBody);
    return body != null && body.get("query") instanceof String query && MUTATION.matcher(query).find();
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> jsonObject(String text) {
    if (text == null || text.isBlank()) return null;
    try {
      Object parsed = Json.read(text, Object.class);
      return parsed instanceof Map<?, ?> ? (Map<String, Object>) parsed : null;
    } catch (JsonException e) {
      return null;
    }
  }

  private static String write(Map<String, Object> body) {
    try {
      return JSON.writeValueAsString(body);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("a map of JSON values always serialises", e);
    }
  }

  private static Map<String, Object> throttleStatus(Plan plan, double currentlyAvailable) {
    Map<String, Object> status = new LinkedHashMap<>();
    status.put("maximumAvailable", plan.maximumAvailable());
    // Shopify reports whole points; rounding down never promises a point the bucket lacks.
    status.put("currentlyAvailable", (long) Math.floor(currentlyAvailable));
    status.put("restoreRate", plan.restoreRate());
    return status;
  }

  private static Map<String, Object> cost(double requested, Double actual, Map<String, Object> throttleStatus) {
    Map<String, Object> cost = new LinkedHashMap<>();
    cost.put("requestedQueryCost", Math.round(requested));
    cost.put("actualQueryCost", actual == null ? null : Math.round(actual));
    cost.put("throttleStatus", throttleStatus);
    return cost;
  }

  private static Map<String, Object> throttled(double requested, Map<String, Object> throttleStatus) {
    Map<String, Object> error = new LinkedHashMap<>();
    error.put("message", "Throttled");
    error.put("extensions", Map.of("code", "THROTTLED", "documentation", RATE_LIMITS_DOCUMENTATION));
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("errors", List.of(error));
    body.put("extensions", Map.of("cost", cost(requested, null, throttleStatus)));
    return body;
  }
}
