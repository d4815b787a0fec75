package io.hodei.core.job;

/**
 * The sizes a job's definition may have, set by the admin ({@code hodei server --max-*}); every
 * one has a default and is checked by {@link JobSpecValidator} before a job exists. They stay
 * below the gRPC transport's own limit, which the server sets from {@link #transportBytes()}, so a
 * request that is too big is answered with the field it breaks rather than with the transport's
 * "message exceeds maximum size".
 *
 * @param scriptBytes most bytes of a script's content, or of a command with all its arguments
 * @param envVars most environment variables of one job
 * @param envBytes most bytes of all of a job's variable names and values together
 * @param labels most labels of one job
 * @param labelBytes most bytes of all of a job's label keys and values together
 * @param constraintEntries most entries of each of the selector, the tolerations and the
 *     required capabilities
 * @param specBytes most bytes of a whole definition as sent (its protobuf encoding)
 * @param maxPriority the highest priority a job may ask for; the lowest is its negative
 */
public record SpecLimits(
    int scriptBytes,
    int envVars,
    int envBytes,
    int labels,
    int labelBytes,
    int constraintEntries,
    int specBytes,
    int maxPriority) {

  /** 1 MiB of script, 1,000 variables in 256 KiB, 64 labels in 16 KiB, 64 constraints each, 2 MiB in all, priority ±1,000. */
  public static final SpecLimits DEFAULTS = new SpecLimits(1 << 20, 1000, 256 << 10, 64, 16 << 10, 64, 2 << 20, 1000);

  /** The transport's limit is never below this: 16 MiB, four times gRPC's own default. */
  private static final int TRANSPORT_FLOOR = 16 << 20;

  public SpecLimits {
    positive(scriptBytes, "script bytes");
    positive(envVars, "environment variables");
    positive(envBytes, "environment bytes");
    positive(labels, "labels");
    positive(labelBytes, "label bytes");
    positive(constraintEntries, "constraint entries");
    positive(specBytes, "spec bytes");
    if (maxPriority < 0) {
      throw new IllegalArgumentException("the highest priority must not be negative, got " + maxPriority);
    }
    if (scriptBytes > specBytes) {
      throw new IllegalArgumentException(
          "the script limit (" + scriptBytes + " bytes) must not exceed the whole spec's (" + specBytes + " bytes)");
    }
    if (specBytes > Integer.MAX_VALUE / 8) {
      throw new IllegalArgumentException("the spec limit must be at most " + Integer.MAX_VALUE / 8 + " bytes, got " + specBytes);
    }
  }

  /**
   * The largest message the server's transport takes: well above {@link #specBytes}, so that a
   * definition several times too big still reaches the field check and is answered with its field.
   */
  public int transportBytes() {
    return Math.max(TRANSPORT_FLOOR, specBytes * 8);
  }

  public SpecLimits withScriptBytes(int bytes) {
    return new SpecLimits(bytes, envVars, envBytes, labels, labelBytes, constraintEntries, Math.max(specBytes, bytes), maxPriority);
  }

  public SpecLimits withSpecBytes(int bytes) {
    return new SpecLimits(Math.min(scriptBytes, bytes), envVars, envBytes, labels, labelBytes, constraintEntries, bytes, maxPriority);
  }

  public SpecLimits withEnvVars(int count) {
    return new SpecLimits(scriptBytes, count, envBytes, labels, labelBytes, constraintEntries, specBytes, maxPriority);
  }

  public SpecLimits withLabels(int count) {
    return new SpecLimits(scriptBytes, envVars, envBytes, count, labelBytes, constraintEntries, specBytes, maxPriority);
  }

  public SpecLimits withMaxPriority(int priority) {
    return new SpecLimits(scriptBytes, envVars, envBytes, labels, labelBytes, constraintEntries, specBytes, priority);
  }

  private static void positive(int value, String what) {
    if (value < 1) {
      throw new IllegalArgumentException("the limit on " + what + " must be positive, got " + value);
    }
  }
}
