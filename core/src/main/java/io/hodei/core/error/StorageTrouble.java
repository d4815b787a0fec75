package io.hodei.core.error;

/**
 * What is wrong with the store's storage, when an admin must fix it: the call may succeed once it
 * is fixed. Carried by {@link UnavailableException}; a full disk is answered {@code
 * RESOURCE_EXHAUSTED}, the rest {@code UNAVAILABLE}.
 */
public enum StorageTrouble {
  FULL("the database's disk is full"),
  READ_ONLY("the database is read-only"),
  CORRUPT("the database file is corrupt or not a database"),
  UNREACHABLE("the database server cannot be reached");

  private final String words;

  StorageTrouble(String words) {
    this.words = words;
  }

  public String words() {
    return words;
  }
}
