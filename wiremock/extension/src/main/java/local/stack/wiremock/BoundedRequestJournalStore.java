package local.stack.wiremock;

import com.github.tomakehurst.wiremock.store.RequestJournalStore;
import com.github.tomakehurst.wiremock.stubbing.ServeEvent;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.stream.Stream;

/**
 * WireMock's request journal with every per-request operation in constant time. WireMock 3.13's
 * in-memory store walks its whole deque twice for each request it serves (counting the entries to
 * enforce the bound, and `contains` before recording the response), so with a bound of 1,000 a
 * request cost about 0.4 ms of CPU, more than the service it stood in for. The journal keeps the
 * same contract: newest first, and an update only lands on an entry still held.
 */
final class BoundedRequestJournalStore implements RequestJournalStore {
  /** Insertion order is oldest first; replacing a value keeps an entry's place. */
  private final LinkedHashMap<UUID, ServeEvent> events = new LinkedHashMap<>();

  @Override
  public synchronized void add(ServeEvent event) {
    events.put(event.getId(), event);
  }

  @Override
  public synchronized Stream<ServeEvent> getAll() {
    List<ServeEvent> newestFirst = new ArrayList<>(events.values());
    Collections.reverse(newestFirst);
    return newestFirst.stream();
  }

  @Override
  public synchronized void removeLast() {
    var oldest = events.keySet().iterator();
    if (oldest.hasNext()) {
      oldest.next();
      oldest.remove();
    }
  }

  /** A copy, so a caller may stream it while requests go on: counting it reads its size only. */
  @Override
  public synchronized Stream<UUID> getAllKeys() {
    return new ArrayList<>(events.keySet()).stream();
  }

  @Override
  public synchronized Optional<ServeEvent> get(UUID id) {
    return Optional.ofNullable(events.get(id));
  }

  @Override
  public synchronized void put(UUID id, ServeEvent event) {
    events.computeIfPresent(id, (key, previous) -> event);
  }

  @Override
  public synchronized void remove(UUID id) {
    events.remove(id);
  }

  @Override
  public synchronized void clear() {
    events.clear();
  }
}
