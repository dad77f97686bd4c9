package local.stack.wiremock;

import java.util.Map;

/**
 * A Shopify plan's GraphQL limits. Shopify's standard plan is the default: a bucket of 2,000 points
 * restored at 100 a second, 10 points a mutation. The environment (SHOPIFY_BUCKET_SIZE,
 * SHOPIFY_RESTORE_RATE, SHOPIFY_MUTATION_COST, SHOPIFY_QUERY_COST) sets another plan for the whole
 * WireMock; a stub's transformerParameters of the same meaning (maximumAvailable, restoreRate,
 * mutationCost, queryCost) set it for that stub alone.
 */
record Plan(double maximumAvailable, double restoreRate, double mutationCost, double queryCost) {
  static final Plan STANDARD = new Plan(2000, 100, 10, 1);

  Plan {
    if (!(maximumAvailable > 0 && restoreRate > 0 && mutationCost > 0 && queryCost > 0)) {
      throw new IllegalArgumentException("every figure of a Shopify plan must be positive: " + this);
    }
  }

  static Plan fromEnvironment(Map<String, String> env) {
    return new Plan(
        number(env.get("SHOPIFY_BUCKET_SIZE"), STANDARD.maximumAvailable),
        number(env.get("SHOPIFY_RESTORE_RATE"), STANDARD.restoreRate),
        number(env.get("SHOPIFY_MUTATION_COST"), STANDARD.mutationCost),
        number(env.get("SHOPIFY_QUERY_COST"), STANDARD.queryCost));
  }

  Plan overriddenBy(Map<String, Object> parameters) {
    return new Plan(
        number(parameters.get("maximumAvailable"), maximumAvailable),
        number(parameters.get("restoreRate"), restoreRate),
        number(parameters.get("mutationCost"), mutationCost),
        number(parameters.get("queryCost"), queryCost));
  }

  private static double number(Object value, double fallback) {
    if (value == null || "".equals(value)) return fallback;
    if (value instanceof Number n) return n.doubleValue();
    try {
      return Double.parseDouble(value.toString().trim());
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("not a number: \"" + value + "\"", e);
    }
  }
}
