package io.hodei.core.error;

/** The named thing does not exist (or is not visible to the caller). */
public final class NotFoundException extends HodeiException {
  public NotFoundException(String what, String id) {
    super(what + " " + id + " not found");
  }
}
