package local.stack.wiremock;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import org.junit.jupiter.api.Test;

class LeakyBucketTest {
  private static final long SECOND = 1_000_000_000L;

  @Test
  void grantsTwoHundredMutationsFromAFullStandardBucketThenRefusesWithoutTakingPoints() {
    LeakyBucket bucket = new LeakyBucket(Plan.STANDARD, 0);
    for (int i = 0; i < 200; i++) assertTrue(bucket.take(10, 0).granted(), "mutation " + (i + 1));
    LeakyBucket.Outcome refused = bucket.take(10, 0);
    assertFalse(refused.granted());
    assertEquals(0, refused.currentlyAvailable());
  }

  @Test
  void restoresOneHundredPointsASecondUpToTheMaximum() {
    LeakyBucket bucket = new LeakyBucket(Plan.STANDARD, 0);
    assertTrue(bucket.take(2000, 0).granted());
    assertEquals(40, bucket.take(10, SECOND / 2).currentlyAvailable());
    assertFalse(bucket.isFull(10 * SECOND));
    assertTrue(bucket.isFull(21 * SECOND));
    assertEquals(1990, bucket.take(10, 60 * SECOND).currentlyAvailable());
  }

  @Test
  void theEnvironmentAndAStubsParametersSetAnotherPlan() {
    Plan plus = Plan.fromEnvironment(Map.of("SHOPIFY_BUCKET_SIZE", "20000", "SHOPIFY_RESTORE_RATE", "1000"));
    assertEquals(new Plan(20000, 1000, 10, 1), plus);
    assertEquals(new Plan(100, 1000, 5, 1), plus.overriddenBy(Map.of("maximumAvailable", 100, "mutationCost", "5")));
  }

  @Test
  void onlyAMutationCostsTheMutationPrice() {
    assertTrue(ShopifyLeakyBucket.isMutation("{\"query\":\"# set stock\\n mutation Set($input: X!) { a }\"}"));
    assertFalse(ShopifyLeakyBucket.isMutation("{\"query\":\"query { shop { name } }\"}"));
    assertFalse(ShopifyLeakyBucket.isMutation("not json"));
  }
}
