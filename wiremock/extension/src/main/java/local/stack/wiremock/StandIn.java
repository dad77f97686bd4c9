package local.stack.wiremock;

import com.github.tomakehurst.wiremock.WireMockServer;
import com.github.tomakehurst.wiremock.standalone.CommandLineOptions;
import com.github.tomakehurst.wiremock.store.BlobStore;
import com.github.tomakehurst.wiremock.store.ObjectStore;
import com.github.tomakehurst.wiremock.store.RecorderStateStore;
import com.github.tomakehurst.wiremock.store.RequestJournalStore;
import com.github.tomakehurst.wiremock.store.ScenariosStore;
import com.github.tomakehurst.wiremock.store.SettingsStore;
import com.github.tomakehurst.wiremock.store.Stores;
import com.github.tomakehurst.wiremock.store.StubMappingStore;

/**
 * The local stack's WireMock: `wiremock.Run`'s command line and behaviour for the options the stack
 * uses, with the request journal in {@link BoundedRequestJournalStore}. WireMock reads its stores
 * from its options, and the command line offers no way to choose one, hence this main class.
 */
public final class StandIn {
  private StandIn() {}

  public static void main(String... args) {
    CommandLineOptions options = new CommandLineOptions(args) {
      private Stores stores;

      @Override
      public synchronized Stores getStores() {
        if (stores == null) stores = new WithBoundedJournal(super.getStores());
        return stores;
      }
    };
    if (options.help()) {
      System.out.println(options.helpText());
      return;
    }
    options.filesRoot().createIfNecessary();
    options.filesRoot().child("mappings").createIfNecessary();
    options.filesRoot().child("__files").createIfNecessary();
    WireMockServer server = new WireMockServer(options);
    server.start();
    System.out.println("WireMock stand-in listening on port " + server.port() + ", extensions: " + server.getLoadedExtensionNames());
  }

  /** WireMock's own stores, but the request journal. */
  private static final class WithBoundedJournal implements Stores {
    private final Stores wiremocks;
    private final RequestJournalStore journal = new BoundedRequestJournalStore();

    WithBoundedJournal(Stores wiremocks) {
      this.wiremocks = wiremocks;
    }

    @Override
    public RequestJournalStore getRequestJournalStore() {
      return journal;
    }

    @Override
    public StubMappingStore getStubStore() {
      return wiremocks.getStubStore();
    }

    @Override
    public SettingsStore getSettingsStore() {
      return wiremocks.getSettingsStore();
    }

    @Override
    public ScenariosStore getScenariosStore() {
      return wiremocks.getScenariosStore();
    }

    @Override
    public RecorderStateStore getRecorderStateStore() {
      return wiremocks.getRecorderStateStore();
    }

    @Override
    public BlobStore getMappingsBlobStore() {
      return wiremocks.getMappingsBlobStore();
    }

    @Override
    public BlobStore getFilesBlobStore() {
      return wiremocks.getFilesBlobStore();
    }

    @Override
    public BlobStore getBlobStore(String name) {
      return wiremocks.getBlobStore(name);
    }

    @Override
    public ObjectStore getObjectStore(String name, PersistenceType persistenceType, int maxItems) {
      return wiremocks.getObjectStore(name, persistenceType, maxItems);
    }

    @Override
    public void start() {
      wiremocks.start();
    }

    @Override
    public void stop() {
      wiremocks.stop();
    }
  }
}
