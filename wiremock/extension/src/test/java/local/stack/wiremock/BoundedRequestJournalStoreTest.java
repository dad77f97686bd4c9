package local.stack.wiremock;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.github.tomakehurst.wiremock.http.ImmutableRequest;
import com.github.tomakehurst.wiremock.http.RequestMethod;
import com.github.tomakehurst.wiremock.stubbing.ServeEvent;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;

class BoundedRequestJournalStoreTest {
  private static ServeEvent event(String url) {
    return ServeEvent.of(ImmutableRequest.create().withMethod(RequestMethod.GET).withAbsoluteUrl("http://wms.test" + url).build());
  }

  private static List<String> urls(BoundedRequestJournalStore store) {
    return store.getAll().map(e -> e.getRequest().getUrl()).toList();
  }

  @Test
  void listsNewestFirstAndDropsTheOldestFirst() {
    BoundedRequestJournalStore store = new BoundedRequestJournalStore();
    store.add(event("/a"));
    store.add(event("/b"));
    store.add(event("/c"));
    assertEquals(List.of("/c", "/b", "/a"), urls(store));
    assertEquals(3, store.getAllKeys().count());

    store.removeLast();
    assertEquals(List.of("/c", "/b"), urls(store));
  }

  @Test
  void anUpdateLandsOnlyOnAnEntryStillHeldAndKeepsItsPlace() {
    BoundedRequestJournalStore store = new BoundedRequestJournalStore();
    ServeEvent first = event("/a");
    store.add(first);
    store.add(event("/b"));
    ServeEvent completed = event("/a-completed");
    store.put(first.getId(), completed);
    store.put(UUID.randomUUID(), event("/never-added"));

    assertEquals(List.of("/b", "/a-completed"), urls(store));
    assertSame(completed, store.get(first.getId()).orElseThrow());

    store.remove(first.getId());
    assertTrue(store.get(first.getId()).isEmpty());
    assertEquals(List.of("/b"), urls(store));
    store.clear();
    assertEquals(0, store.getAllKeys().count());
  }
}
