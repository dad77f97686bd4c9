package local.stack.wiremock;

import static com.github.tomakehurst.wiremock.http.RequestMethod.GET;
import static com.github.tomakehurst.wiremock.http.RequestMethod.POST;
import static com.github.tomakehurst.wiremock.http.RequestMethod.PUT;

import com.github.tomakehurst.wiremock.admin.Router;
import com.github.tomakehurst.wiremock.client.ResponseDefinitionBuilder;
import com.github.tomakehurst.wiremock.common.Json;
import com.github.tomakehurst.wiremock.common.JsonException;
import com.github.tomakehurst.wiremock.http.QueryParameter;
import com.github.tomakehurst.wiremock.http.Request;
import com.github.tomakehurst.wiremock.http.ResponseDefinition;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.LongSupplier;
import java.util.regex.Pattern;
import wiremock.com.fasterxml.jackson.core.JsonProcessingException;
import wiremock.com.fasterxml.jackson.databind.ObjectMapper;
import wiremock.com.fasterxml.jackson.databind.SerializationFeature;

/**
 * Shopify's client-credentials grant (docs/spec.md section 12): {@code POST /admin/oauth/access_token} with
 * {@code client_id}, {@code client_secret} and {@code grant_type=client_credentials} (JSON or a
 * form) answers {@code {access_token, scope, expires_in}} for a client registered through
 * {@code PUT /__admin/shopify/oauth}. The GraphQL endpoint then answers 401, as Shopify does, to a
 * token the grant issued once it has expired or was revoked, and to one that looks issued but never
 * was (a restarted stand-in forgot it). A token the grant did not issue (no {@link #TOKEN_PREFIX}) is
 * a static Admin API token and keeps working as before: any non-empty one.
 */
final class ShopifyOAuth {
  /** Every token the grant issues starts so; a static token never does. */
  static final String TOKEN_PREFIX = "shpat_standin_cc_";
  static final String GRANT_PATH = "/admin/oauth/access_token";
  /** Shopify's own answer to a bad token, word for word (wiremock/mappings/shopify-missing-token.json). */
  static final String INVALID_TOKEN = "[API] Invalid API key or access token (unrecognized login or wrong password)";
  /** Shopify's Dev Dashboard tokens last 24 hours. */
  static final long DEFAULT_EXPIRES_IN_SECONDS = 86_399;
  static final String DEFAULT_SCOPE = String.join(",", ShopifyGraphql.ACCESS_SCOPES);
  /** Tokens kept to tell an expired one from an unknown one; the oldest expired go first. */
  static final int TOKENS_KEPT = 10_000;
  private static final Pattern GRAPHQL_PATH = Pattern.compile("/admin/api/[^/]+/graphql\\.json");
  private static final ObjectMapper JSON = Json.getObjectMapper().copy().disable(SerializationFeature.INDENT_OUTPUT);

  record Client(String id, String secret, long expiresInSeconds, String scope) {}

  private static final class Issued {
    final String clientId;
    final long expiresAtMillis;
    boolean revoked;

    Issued(String clientId, long expiresAtMillis) {
      this.clientId = clientId;
      this.expiresAtMillis = expiresAtMillis;
    }
  }

  private static final class Counts {
    long grants;
    long refusedGrants;
    long refusedCalls;
  }

  /** An answer of the grant endpoint or of a refused call. */
  record Answer(int status, Map<String, Object> body) {}

  private final LongSupplier clockMillis;
  private final SecureRandom random = new SecureRandom();
  private final Map<String, Client> clients = new TreeMap<>();
  private final Map<String, Counts> counts = new TreeMap<>();
  private final LinkedHashMap<String, Issued> tokens = new LinkedHashMap<>();

  ShopifyOAuth(LongSupplier clockMillis) {
    this.clockMillis = clockMillis;
  }

  ShopifyOAuth() {
    this(System::currentTimeMillis);
  }

  // ---- the grant ----

  /** {@code POST /admin/oauth/access_token}: a token for a registered client, or OAuth's error answer. */
  synchronized Answer grant(String contentType, String body) {
    Map<String, String> form = parameters(contentType, body);
    String grantType = form.get("grant_type");
    String clientId = form.get("client_id");
    if (!"client_credentials".equals(grantType)) {
      return error(400, "unsupported_grant_type", "grant_type must be client_credentials, got " + (grantType == null ? "nothing" : grantType));
    }
    Client client = clientId == null ? null : clients.get(clientId);
    String secret = form.get("client_secret");
    if (client == null || secret == null || !MessageDigest.isEqual(client.secret().getBytes(StandardCharsets.UTF_8), secret.getBytes(StandardCharsets.UTF_8))) {
      if (client != null) counts(client.id()).refusedGrants++;
      return error(400, "invalid_client", "Client authentication failed: unknown client_id or wrong client_secret");
    }
    long now = clockMillis.getAsLong();
    forgetOldTokens(now);
    byte[] bytes = new byte[16];
    random.nextBytes(bytes);
    String token = TOKEN_PREFIX + HexFormat.of().formatHex(bytes);
    tokens.put(token, new Issued(client.id(), now + client.expiresInSeconds() * 1000));
    counts(client.id()).grants++;
    Map<String, Object> answer = new LinkedHashMap<>();
    answer.put("access_token", token);
    answer.put("scope", client.scope());
    answer.put("expires_in", client.expiresInSeconds());
    return new Answer(200, answer);
  }

  /** Why a GraphQL call with this token is refused (401), or null when it may go on. */
  synchronized Answer refusal(String token) {
    if (token == null || !token.startsWith(TOKEN_PREFIX)) return null;
    Issued issued = tokens.get(token);
    if (issued != null && !issued.revoked && clockMillis.getAsLong() < issued.expiresAtMillis) return null;
    if (issued != null) counts(issued.clientId).refusedCalls++;
    return new Answer(401, Map.of("errors", INVALID_TOKEN));
  }

  private void forgetOldTokens(long now) {
    if (tokens.size() < TOKENS_KEPT) return;
    tokens.values().removeIf(t -> t.revoked || t.expiresAtMillis <= now);
    var oldest = tokens.keySet().iterator();
    while (tokens.size() >= TOKENS_KEPT && oldest.hasNext()) {
      oldest.next();
      oldest.remove();
    }
  }

  private Counts counts(String clientId) {
    return counts.computeIfAbsent(clientId, k -> new Counts());
  }

  private static Answer error(int status, String code, String description) {
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("error", code);
    body.put("error_description", description);
    return new Answer(status, body);
  }

  /** The grant's parameters from a JSON object or a form body (Shopify takes both). */
  static Map<String, String> parameters(String contentType, String body) {
    Map<String, String> out = new LinkedHashMap<>();
    if (body == null || body.isBlank()) return out;
    String trimmed = body.trim();
    if (trimmed.startsWith("{") || (contentType != null && contentType.toLowerCase().contains("json"))) {
      try {
        if (Json.read(trimmed, Object.class) instanceof Map<?, ?> map) {
          map.forEach((k, v) -> {
            if (v instanceof String s) out.put(k.toString(), s);
          });
        }
      } catch (JsonException e) {
        // no parameters: refused as an unsupported grant
      }
      return out;
    }
    for (String pair : trimmed.split("&")) {
      int eq = pair.indexOf('=');
      if (eq <= 0) continue;
      out.put(URLDecoder.decode(pair.substring(0, eq), StandardCharsets.UTF_8), URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8));
    }
    return out;
  }

  // ---- the stub side: a request filter ahead of every mapping ----

  /** The grant's answer, a 401 for a dead issued token on the GraphQL endpoint, or null to let the mappings answer. */
  ResponseDefinition intercept(Request request) {
    String path = request.getUrl();
    int query = path.indexOf('?');
    if (query >= 0) path = path.substring(0, query);
    if (GRANT_PATH.equals(path)) {
      if (!"POST".equals(request.getMethod().getName())) return json(405, Map.of("errors", "Use POST to obtain an access token"));
      Answer answer = grant(request.contentTypeHeader().isPresent() ? request.contentTypeHeader().firstValue() : null, request.getBodyAsString());
      return json(answer.status(), answer.body());
    }
    if (!GRAPHQL_PATH.matcher(path).matches()) return null;
    var header = request.header("X-Shopify-Access-Token");
    Answer refused = refusal(header.isPresent() ? header.firstValue() : null);
    return refused == null ? null : json(refused.status(), refused.body());
  }

  // ---- the test interface under /__admin/shopify/oauth ----

  /** Each route its own lambda (its own class): WireMock finds a route's path template by its task's class. */
  void routes(Router router) {
    router.add(PUT, "/shopify/oauth", (admin, event, params) -> handle(() -> configure(body(event.getRequest()))));
    router.add(GET, "/shopify/oauth", (admin, event, params) -> handle(() -> {
      QueryParameter client = event.getRequest().queryParameter("clientId");
      return describe(client.isPresent() ? client.firstValue() : null);
    }));
    router.add(POST, "/shopify/oauth/revoke", (admin, event, params) -> handle(() -> revoke(body(event.getRequest()))));
  }

  /** Registers (or replaces) a client the grant issues tokens to; tokens issued before stay as they were. */
  synchronized Map<String, Object> configure(Map<String, Object> body) {
    String id = text(body, "clientId");
    String secret = text(body, "clientSecret");
    Object expires = body.getOrDefault("expiresInSeconds", DEFAULT_EXPIRES_IN_SECONDS);
    if (!(expires instanceof Integer || expires instanceof Long) || ((Number) expires).longValue() < 1) {
      throw new Shop.Refused(400, "\"expiresInSeconds\" must be a positive integer, got " + expires);
    }
    Object scope = body.getOrDefault("scope", DEFAULT_SCOPE);
    if (!(scope instanceof String s) || s.isBlank()) throw new Shop.Refused(400, "\"scope\" must be a comma-separated list of access scopes");
    Client client = new Client(id, secret, ((Number) expires).longValue(), s);
    clients.put(id, client);
    return describeOne(client);
  }

  synchronized Map<String, Object> describe(String clientId) {
    List<Object> out = new ArrayList<>();
    for (Client c : clients.values()) if (clientId == null || c.id().equals(clientId)) out.add(describeOne(c));
    return Map.of("clients", out);
  }

  private Map<String, Object> describeOne(Client c) {
    long now = clockMillis.getAsLong();
    Counts n = counts(c.id());
    long live = tokens.values().stream().filter(t -> t.clientId.equals(c.id()) && !t.revoked && now < t.expiresAtMillis).count();
    Map<String, Object> entry = new LinkedHashMap<>();
    entry.put("clientId", c.id());
    entry.put("expiresInSeconds", c.expiresInSeconds());
    entry.put("scope", c.scope());
    entry.put("tokensIssued", n.grants);
    entry.put("liveTokens", live);
    entry.put("refusedGrants", n.refusedGrants);
    entry.put("refusedCalls", n.refusedCalls);
    return entry;
  }

  /** Every token issued to the client stops working at once (an uninstalled app, a rotated secret). */
  synchronized Map<String, Object> revoke(Map<String, Object> body) {
    String id = text(body, "clientId");
    int revoked = 0;
    for (Issued t : tokens.values()) {
      if (t.clientId.equals(id) && !t.revoked) {
        t.revoked = true;
        revoked++;
      }
    }
    return Map.of("revoked", revoked);
  }

  private interface Work {
    Object get();
  }

  private static ResponseDefinition handle(Work work) {
    try {
      return json(200, work.get());
    } catch (Shop.Refused e) {
      return json(e.status, Map.of("error", e.getMessage()));
    }
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> body(Request request) {
    try {
      String text = request.getBodyAsString();
      if (text != null && !text.isBlank() && Json.read(text, Object.class) instanceof Map<?, ?> map) return (Map<String, Object>) map;
    } catch (JsonException e) {
      // refused below
    }
    throw new Shop.Refused(400, "the body must be a JSON object");
  }

  private static String text(Map<String, Object> body, String name) {
    if (body.get(name) instanceof String s && !s.isBlank()) return s;
    throw new Shop.Refused(400, "\"" + name + "\" must be a non-empty string");
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
}
