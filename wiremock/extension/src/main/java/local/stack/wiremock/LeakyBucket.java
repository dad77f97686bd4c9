package local.stack.wiremock;

/**
 * Shopify's GraphQL rate limit for one app on one store: a bucket of cost points that refills
 * continuously at the plan's restore rate. A call runs only when the bucket holds its requested
 * cost; otherwise Shopify refuses it and takes nothing.
 */
final class LeakyBucket {
  record Outcome(boolean granted, double currentlyAvailable) {}

  private final Plan plan;
  private double available;
  private long updatedAtNanos;

  LeakyBucket(Plan plan, long nowNanos) {
    this.plan = plan;
    this.available = plan.maximumAvailable();
    this.updatedAtNanos = nowNanos;
  }

  Plan plan() {
    return plan;
  }

  synchronized Outcome take(double cost, long nowNanos) {
    refill(nowNanos);
    if (available < cost) return new Outcome(false, available);
    available -= cost;
    return new Outcome(true, available);
  }

  /** A full bucket is indistinguishable from a new one, so it can be forgotten. */
  synchronized boolean isFull(long nowNanos) {
    refill(nowNanos);
    return available >= plan.maximumAvailable();
  }

  private void refill(long nowNanos) {
    double seconds = Math.max(0, nowNanos - updatedAtNanos) / 1e9;
    available = Math.min(plan.maximumAvailable(), available + seconds * plan.restoreRate());
    updatedAtNanos = nowNanos;
  }
}
