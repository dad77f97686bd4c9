package local.stack.wiremock;

import com.github.tomakehurst.wiremock.admin.Router;
import com.github.tomakehurst.wiremock.common.Json;
import com.github.tomakehurst.wiremock.common.JsonException;
import com.github.tomakehurst.wiremock.extension.AdminApiExtension;
import com.github.tomakehurst.wiremock.extension.Parameters;
import com.github.tomakehurst.wiremock.extension.ResponseTransformerV2;
import com.github.tomakehurst.wiremock.extension.StubLifecycleListener;
import com.github.tomakehurst.wiremock.extension.requestfilter.RequestFilterAction;
import com.github.tomakehurst.wiremock.extension.requestfilter.StubRequestFilterV2;
import com.github.tomakehurst.wiremock.http.Request;
import com.github.tomakehurst.wiremock.http.Response;
import com.github.tomakehurst.wiremock.http.ResponseDefinition;
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
 * The Shopify stand-in's extension, the one class the stack names with --extensions.
 *
 * <p>As a response transformer it makes a Shopify Admin GraphQL stub enforce Shopify's rate limit,
 * for the stubs that name it in "transformers". Each call takes its requested cost from the bucket:
 * a granted call gets the stub's answer with the real `extensions.cost`; a call the bucket cannot
 * pay for gets Shopify's THROTTLED answer (HTTP 200) instead. Stubs share the bucket named by their
 * "bucket" transformer parameter ("store" by default), so a test can drain a bucket of its own
 * without throttling anyone else. WireMock's reset (POST /__admin/reset) refills every bucket.
 *
 * <p>A stub whose transformerParameters say {@code "standIn": true} (the default catch-all mapping,
 * wiremock/mappings/shopify-stand-in.json) is answered by the shop itself ({@link ShopifyGraphql}
 * over {@link Shop}): priced by operation, throttled before anything is applied, and answered from
 * and applied to the shop's state. The shop's test interface is under /__admin/shopify/
 * ({@link ShopifyAdminApi}); docs/shopify-stand-in.md describes both.
 *
 * <p>As a request filter, ahead of every mapping, it answers Shopify's client-credentials grant and
 * refuses (401) a GraphQL call whose token the grant issued once that token is dead ({@link ShopifyOAuth}).
 */
public final class ShopifyLeakyBucket implements ResponseTransformerV2, StubLifecycleListener, AdminApiExtension, StubRequestFilterV2 {
  public static final String NAME = "shopify-leaky-bucket";
  static final String DEFAULT_BUCKET = "store";
  /** The transformer parameter that makes a stub the stateful stand-in. */
  static final String STAND_IN = "standIn";
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
  private final ShopifyGraphql graphql;
  private final ShopifyAdminApi adminApi;
  private final ShopifyOAuth oauth;

  public ShopifyLeakyBucket() {
    this(Plan.fromEnvironment(System.getenv()), System::nanoTime, new Shop());
  }

  ShopifyLeakyBucket(Plan defaultPlan, LongSupplier nanoClock) {
    this(defaultPlan, nanoClock, new Shop());
  }

  ShopifyLeakyBucket(Plan defaultPlan, LongSupplier nanoClock, Shop shop) {
    this(defaultPlan, nanoClock, shop, new ShopifyOAuth());
  }

  ShopifyLeakyBucket(Plan defaultPlan, LongSupplier nanoClock, Shop shop, ShopifyOAuth oauth) {
    this.defaultPlan = defaultPlan;
    this.nanoClock = nanoClock;
    this.graphql = new ShopifyGraphql(shop);
    this.adminApi = new ShopifyAdminApi(shop);
    this.oauth = oauth;
  }

  Shop shop() {
    return graphql.shop();
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
  public void contributeAdminApiRoutes(Router router) {
    adminApi.routes(router);
    oauth.routes(router);
  }

  @Override
  public RequestFilterAction filter(Request request, ServeEvent serveEvent) {
    ResponseDefinition answer = oauth.intercept(request);
    return answer == null ? RequestFilterAction.continueWith(request) : RequestFilterAction.stopWith(answer);
  }

  @Override
  public Response transform(Response response, ServeEvent serveEvent) {
    Parameters parameters = serveEvent.getTransformerParameters();
    Plan plan = defaultPlan.overriddenBy(parameters);
    if (Boolean.TRUE.equals(parameters.getBoolean(STAND_IN, false))) return standIn(response, serveEvent, parameters, plan);
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

  /**
   * The stand-in: the request is priced by its operation and takes that from the bucket before
   * anything runs, so a THROTTLED call applies nothing; a granted one is executed against the shop.
   */
  private Response standIn(Response response, ServeEvent serveEvent, Parameters parameters, Plan plan) {
    ShopifyGraphql.Prepared prepared = graphql.prepare(serveEvent.getRequest().getBodyAsString(), plan);
    long now = nanoClock.getAsLong();
    LeakyBucket.Outcome outcome = bucket(parameters.getString("bucket", DEFAULT_BUCKET), plan, now).take(prepared.cost(), now);
    Map<String, Object> throttleStatus = throttleStatus(plan, outcome.currentlyAvailable());
    Map<String, Object> body;
    if (outcome.granted()) {
      body = graphql.execute(prepared);
      body.put("extensions", Map.of("cost", cost(prepared.cost(), prepared.cost(), throttleStatus)));
    } else {
      body = throttled(prepared.cost(), throttleStatus);
    }
    return Response.Builder.like(response).but().status(200).body(write(body)).build();
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
