package io.hodei.core.error;

import java.util.Optional;

/**
 * A dependency (store, provider) cannot serve now; the same call may succeed later. When the
 * store's storage itself is at fault, {@link #storageTrouble()} says how.
 */
public final class UnavailableException extends HodeiException {
  private final StorageTrouble trouble;

  public UnavailableException(String message, Throwable cause) {
    this(message, cause, null);
  }

  public UnavailableException(String message) {
    super(message);
    this.trouble = null;
  }

  public UnavailableException(String message, Throwable cause, StorageTrouble trouble) {
    super(message, cause);
    this.trouble = trouble;
  }

  public Optional<StorageTrouble> storageTrouble() {
    return Optional.ofNullable(trouble);
  }
}
