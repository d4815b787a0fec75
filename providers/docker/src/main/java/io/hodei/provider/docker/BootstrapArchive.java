package io.hodei.provider.docker;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/**
 * A tar archive (ustar) of one directory holding one file, as Docker's archive API takes it: how
 * a worker's bootstrap gets into its container before the container starts, owned by the
 * worker's uid and readable by nobody else ({@code 0700} directory, {@code 0600} file).
 *
 * @param directory the directory's name, relative to where the archive is extracted
 * @param file the file's name inside it
 * @param content the file's bytes
 * @param uid the owner of both
 * @param gid their group
 */
record BootstrapArchive(String directory, String file, byte[] content, int uid, int gid) {
  private static final int BLOCK = 512;

  BootstrapArchive {
    if (directory.isEmpty() || directory.contains("/") || file.isEmpty() || file.contains("/")) {
      throw new IllegalArgumentException("plain names expected: " + directory + ", " + file);
    }
    if ((directory + "/" + file).length() > 99) {
      throw new IllegalArgumentException("name too long for a ustar header: " + directory + "/" + file);
    }
  }

  /** The archive's bytes. */
  byte[] bytes() {
    var out = new ByteArrayOutputStream();
    out.writeBytes(header(directory + "/", 0700, 0, '5'));
    out.writeBytes(header(directory + "/" + file, 0600, content.length, '0'));
    out.writeBytes(content);
    out.writeBytes(new byte[(BLOCK - content.length % BLOCK) % BLOCK]);
    out.writeBytes(new byte[2 * BLOCK]); // end of archive
    return out.toByteArray();
  }

  private byte[] header(String name, int mode, long size, char type) {
    byte[] h = new byte[BLOCK];
    put(h, 0, 100, name);
    put(h, 100, 8, octal(mode, 7));
    put(h, 108, 8, octal(uid, 7));
    put(h, 116, 8, octal(gid, 7));
    put(h, 124, 12, octal(size, 11));
    put(h, 136, 12, octal(System.currentTimeMillis() / 1000, 11));
    h[156] = (byte) type;
    put(h, 257, 6, "ustar");
    put(h, 263, 2, "00");
    for (int i = 148; i < 156; i++) {
      h[i] = ' ';
    }
    long sum = 0;
    for (byte b : h) {
      sum += b & 0xff;
    }
    put(h, 148, 6, octal(sum, 6));
    h[154] = 0; // then the space already there: "%06o\0 ", as tar writes it
    return h;
  }

  private static String octal(long value, int digits) {
    String text = Long.toOctalString(value);
    if (text.length() > digits) {
      throw new IllegalArgumentException("does not fit a ustar field: " + value);
    }
    return "0".repeat(digits - text.length()) + text;
  }

  /** ASCII {@code text} at {@code offset}, NUL-padded to {@code length}. */
  private static void put(byte[] header, int offset, int length, String text) {
    byte[] bytes = text.getBytes(StandardCharsets.US_ASCII);
    System.arraycopy(bytes, 0, header, offset, Math.min(bytes.length, length));
  }

  @Override
  public String toString() {
    return "BootstrapArchive[" + directory + "/" + file + ", " + content.length + " bytes, " + uid + ":" + gid + "]";
  }
}
