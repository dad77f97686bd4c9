package local.stack.wiremock;

import static com.github.tomakehurst.wiremock.core.WireMockConfiguration.wireMockConfig;
import static local.stack.wiremock.ShopifyGraphqlTest.at;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.github.tomakehurst.wiremock.WireMockServer;
import com.github.tomakehurst.wiremock.common.Json;
import com.github.tomakehurst.wiremock.stubbing.StubMapping;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The client-credentials grant and what an issued token may do, through a WireMock started in-process. */
class ShopifyOAuthTest {
  private static final String MAPPING = """
      {"priority": 10,
       "request": {"method": "POST", "urlPathPattern": "/admin/api/[^/]+/graphql\\\\.json",
                   "headers": {"X-Shopify-Access-Token": {"matches": ".+"}}},
       "response": {"status": 200, "headers": {"Content-Type": "application/json"},
                    "transformers": ["shopify-leaky-bucket"], "transformerParameters": {"standIn": true}}}""";
  private static final String GRAPHQL = "/admin/api/2026-10/graphql.json";
  private static final String QUERY = "{\"query\": \"{ location(id: \\\"gid://shopify/Location/65432109876\\\") { id } }\"}";

  private static final AtomicLong millis = new AtomicLong(1_800_000_000_000L);
  private static final HttpClient http = HttpClient.newHttpClient();
  private static WireMockServer server;

  @BeforeAll
  static void start() {
    ShopifyLeakyBucket extension = new ShopifyLeakyBucket(Plan.STANDARD, System::nanoTime, new Shop(), new ShopifyOAuth(millis::get));
    server = new WireMockServer(wireMockConfig().dynamicPort().extensions(extension));
    server.start();
    server.addStubMapping(StubMapping.buildFrom(MAPPING));
  }

  @AfterAll
  static void stop() {
    server.stop();
  }

  private static HttpResponse<String> send(String method, String path, String contentType, String body, String token) throws Exception {
    HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(server.baseUrl() + path))
        .header("Content-Type", contentType)
        .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
    if (token != null) request.header("X-Shopify-Access-Token", token);
    return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
  }

  private static Map<String, Object> json(HttpResponse<String> response) {
    @SuppressWarnings("unchecked")
    Map<String, Object> parsed = Json.read(response.body(), Map.class);
    return parsed;
  }

  private static void register(String clientId, String secret, long expiresInSeconds) throws Exception {
    String body = "{\"clientId\":\"%s\",\"clientSecret\":\"%s\",\"expiresInSeconds\":%d}".formatted(clientId, secret, expiresInSeconds);
    HttpResponse<String> put = send("PUT", "/__admin/shopify/oauth", "application/json", body, null);
    assertEquals(200, put.statusCode(), put.body());
  }

  private static HttpResponse<String> grant(String clientId, String secret) throws Exception {
    String body = "{\"client_id\":\"%s\",\"client_secret\":\"%s\",\"grant_type\":\"client_credentials\"}".formatted(clientId, secret);
    return send("POST", "/admin/oauth/access_token", "application/json", body, null);
  }

  private static Map<String, Object> client(String clientId) throws Exception {
    List<Map<String, Object>> clients = at(json(send("GET", "/__admin/shopify/oauth?clientId=" + clientId, "application/json", null, null)), "clients");
    assertEquals(1, clients.size());
    return clients.get(0);
  }

  @Test
  void aRegisteredClientGetsATokenThatCallsGraphqlUntilItExpiresThenA401() throws Exception {
    register("app-expiring", "secret-expiring", 2);
    HttpResponse<String> granted = grant("app-expiring", "secret-expiring");
    assertEquals(200, granted.statusCode(), granted.body());
    Map<String, Object> token = json(granted);
    assertEquals(2, (Integer) token.get("expires_in"));
    assertEquals("read_orders,read_products,read_inventory,write_inventory", token.get("scope"));
    String accessToken = (String) token.get("access_token");
    assertTrue(accessToken.startsWith(ShopifyOAuth.TOKEN_PREFIX), accessToken);

    HttpResponse<String> fresh = send("POST", GRAPHQL, "application/json", QUERY, accessToken);
    assertEquals(200, fresh.statusCode(), fresh.body());
    assertEquals("gid://shopify/Location/65432109876", at(json(fresh), "data", "location", "id"));

    millis.addAndGet(1_999);
    assertEquals(200, send("POST", GRAPHQL, "application/json", QUERY, accessToken).statusCode(), "still valid 1.999 s after the grant");
    millis.addAndGet(1);
    HttpResponse<String> expired = send("POST", GRAPHQL, "application/json", QUERY, accessToken);
    assertEquals(401, expired.statusCode());
    assertEquals(ShopifyOAuth.INVALID_TOKEN, json(expired).get("errors"));

    Map<String, Object> counts = client("app-expiring");
    assertEquals(1, (Integer) counts.get("tokensIssued"));
    assertEquals(0, (Integer) counts.get("liveTokens"));
    assertEquals(1, (Integer) counts.get("refusedCalls"));
  }

  @Test
  void aNewGrantGivesAnotherTokenAndBothLiveUntilTheirOwnExpiry() throws Exception {
    register("app-renewing", "secret-renewing", 10);
    String first = (String) json(grant("app-renewing", "secret-renewing")).get("access_token");
    millis.addAndGet(9_000);
    String second = (String) json(grant("app-renewing", "secret-renewing")).get("access_token");
    assertNotEquals(first, second);
    assertEquals(2, (Integer) client("app-renewing").get("liveTokens"));
    millis.addAndGet(1_000);
    assertEquals(401, send("POST", GRAPHQL, "application/json", QUERY, first).statusCode());
    assertEquals(200, send("POST", GRAPHQL, "application/json", QUERY, second).statusCode());
  }

  @Test
  void theGrantTakesAFormBodyAsShopifyDocumentsIt() throws Exception {
    register("app-form", "secret form&=", 60);
    String form = "grant_type=client_credentials&client_id=app-form&client_secret=secret+form%26%3D";
    HttpResponse<String> granted = send("POST", "/admin/oauth/access_token", "application/x-www-form-urlencoded", form, null);
    assertEquals(200, granted.statusCode(), granted.body());
    assertEquals(60, (Integer) json(granted).get("expires_in"));
  }

  @Test
  void aWrongSecretAnUnknownClientOrAnotherGrantTypeGetsNoToken() throws Exception {
    register("app-strict", "secret-strict", 60);
    HttpResponse<String> wrongSecret = grant("app-strict", "not-the-secret");
    assertEquals(400, wrongSecret.statusCode());
    assertEquals("invalid_client", json(wrongSecret).get("error"));
    assertEquals("invalid_client", json(grant("app-nobody-registered", "x")).get("error"));
    HttpResponse<String> code = send("POST", "/admin/oauth/access_token", "application/json",
        "{\"client_id\":\"app-strict\",\"client_secret\":\"secret-strict\",\"grant_type\":\"authorization_code\"}", null);
    assertEquals(400, code.statusCode());
    assertEquals("unsupported_grant_type", json(code).get("error"));
    assertEquals(0, (Integer) client("app-strict").get("tokensIssued"));
    assertEquals(1, (Integer) client("app-strict").get("refusedGrants"));
  }

  @Test
  void aRevokedTokenAndAnIssuedLookingTokenNobodyIssuedGet401() throws Exception {
    register("app-revoked", "secret-revoked", 3600);
    String token = (String) json(grant("app-revoked", "secret-revoked")).get("access_token");
    assertEquals(200, send("POST", GRAPHQL, "application/json", QUERY, token).statusCode());
    assertEquals(Map.of("revoked", 1), json(send("POST", "/__admin/shopify/oauth/revoke", "application/json", "{\"clientId\":\"app-revoked\"}", null)));
    assertEquals(401, send("POST", GRAPHQL, "application/json", QUERY, token).statusCode());
    assertEquals(401, send("POST", GRAPHQL, "application/json", QUERY, ShopifyOAuth.TOKEN_PREFIX + "00000000000000000000000000000000").statusCode());
  }

  @Test
  void aStaticTokenTheGrantDidNotIssueKeepsWorking() throws Exception {
    HttpResponse<String> answer = send("POST", GRAPHQL, "application/json", QUERY, "shpat_local_access_token");
    assertEquals(200, answer.statusCode(), answer.body());
    assertEquals("gid://shopify/Location/65432109876", at(json(answer), "data", "location", "id"));
  }

  @Test
  void theAdminCallRefusesANonsenseExpiry() throws Exception {
    HttpResponse<String> put = send("PUT", "/__admin/shopify/oauth", "application/json",
        "{\"clientId\":\"app-bad\",\"clientSecret\":\"s\",\"expiresInSeconds\":0}", null);
    assertEquals(400, put.statusCode());
    assertTrue(json(put).get("error").toString().contains("expiresInSeconds"));
  }
}
