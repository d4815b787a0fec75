package io.hodei.worker;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The byte strings that reveal a secret value in a job's output: the patterns the {@link
 * Redactor} looks for, in the output as it is and in its decoded view ({@link Normalizer}).
 *
 * <ul>
 *   <li>the value's UTF-8 bytes, and each line of a multi-line value;
 *   <li>its encodings in base64, base64url, base32, base32hex, and hex in lower and upper case,
 *       for each offset the value can have in a longer encoded input (see {@link
 *       #addEncodedForms});
 *   <li>its JSON string escape, as the job's stdin carries it ({@link SecretsJson});
 *   <li>with each space as {@code +}, as form encoding writes it once its {@code %XY} are decoded;
 *   <li>each of the above as the decoded view reads it, when that differs: carriage returns gone,
 *       escapes in the value decoded, and a line break after an encoded-looking line joined, both
 *       as if the value began a line and as if it continued an encoded run.
 * </ul>
 *
 * Percent-encoding in any case and with any characters left as they are, JSON escapes of any
 * characters, and ANSI sequences or carriage returns between the characters are not patterns:
 * the decoded view undoes them. Forms shorter than the minimum length are dropped, so that short
 * fragments of ordinary text are never masked.
 */
final class SecretForms {
  private SecretForms() {}

  /** An alphabet of 2^bits characters, written most significant bits first, without padding. */
  private record Alphabet(byte[] characters, int bits) {
    static Alphabet of(String characters) {
      return new Alphabet(
          characters.getBytes(StandardCharsets.US_ASCII),
          Integer.numberOfTrailingZeros(characters.length()));
    }

    /** Bytes per group whose encoding ends on a character boundary: 3, 5 or 1. */
    int groupBytes() {
      return bits == 6 ? 3 : bits == 5 ? 5 : 1;
    }

    /** Every full character, then the last partial one with zero fill: no padding. */
    byte[] encode(byte[] data) {
      byte[] out = new byte[(data.length * 8 + bits - 1) / bits];
      int mask = (1 << bits) - 1;
      int buffer = 0;
      int buffered = 0;
      int o = 0;
      for (byte b : data) {
        buffer = buffer << 8 | (b & 0xff);
        buffered += 8;
        while (buffered >= bits) {
          buffered -= bits;
          out[o++] = characters[buffer >>> buffered & mask];
        }
        buffer &= (1 << buffered) - 1;
      }
      if (buffered > 0) {
        out[o] = characters[buffer << (bits - buffered) & mask];
      }
      return out;
    }
  }

  private static final List<Alphabet> ENCODINGS =
      List.of(
          Alphabet.of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"),
          Alphabet.of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
          Alphabet.of("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"),
          Alphabet.of("0123456789ABCDEFGHIJKLMNOPQRSTUV"),
          Alphabet.of("0123456789abcdef"),
          Alphabet.of("0123456789ABCDEF"));

  /**
   * The patterns one secret value contributes, without duplicates, each at least {@code
   * minLength} (and at least one) byte long.
   */
  static List<byte[]> of(String value, int minLength) {
    Map<ByteBuffer, byte[]> forms = new LinkedHashMap<>();
    byte[] raw = value.getBytes(StandardCharsets.UTF_8);
    List<byte[]> texts = new ArrayList<>();
    texts.add(raw);
    texts.add(SecretsJson.escape(value).getBytes(StandardCharsets.UTF_8));
    texts.add(value.replace(' ', '+').getBytes(StandardCharsets.UTF_8));
    if (value.indexOf('\n') >= 0) {
      for (String line : value.split("\r?\n", -1)) {
        texts.add(line.getBytes(StandardCharsets.UTF_8));
      }
    }
    texts.forEach(text -> add(forms, text));
    for (Alphabet alphabet : ENCODINGS) {
      addEncodedForms(forms, raw, alphabet);
    }
    // Encodings have no byte that the decoded view reads otherwise; text may.
    for (byte[] text : texts) {
      for (int run : new int[] {0, Normalizer.JOIN_RUN}) {
        byte[] view = Normalizer.normalise(text, run);
        add(forms, view);
        addWithoutEdgesAnEscapeMayTake(forms, view);
      }
    }
    int shortest = Math.max(1, minLength);
    return forms.values().stream().filter(form -> form.length >= shortest).toList();
  }

  /**
   * An encoding packs a group of bytes (3 for base64, 5 for base32, 1 for hex) into whole
   * characters, so a value inside a longer input is encoded one way per offset in its group. For
   * each offset this keeps the characters whose bits all come from the value: the
   * <em>interior</em> form, found whatever follows the value; and the form running to the end of
   * the encoding, found when the value ends the input (its last character then carries zero fill
   * instead of the next byte's bits).
   */
  private static void addEncodedForms(
      Map<ByteBuffer, byte[]> forms, byte[] raw, Alphabet alphabet) {
    for (int offset = 0; offset < alphabet.groupBytes(); offset++) {
      byte[] shifted = new byte[offset + raw.length];
      System.arraycopy(raw, 0, shifted, offset, raw.length);
      byte[] encoded = alphabet.encode(shifted);
      int first = (8 * offset + alphabet.bits() - 1) / alphabet.bits();
      int interiorEnd = 8 * shifted.length / alphabet.bits();
      if (interiorEnd > first) {
        add(forms, Arrays.copyOfRange(encoded, first, interiorEnd));
        add(forms, Arrays.copyOfRange(encoded, first, encoded.length));
      }
    }
  }

  /**
   * Text next to a value can merge with its edges in the decoded view: {@code %} or {@code \}{@code
   * u00} just before a value that begins with hex digits takes them as its own, and a value that
   * ends with {@code %} or {@code \} takes the hex digits or letter after it. The value is then
   * still found without those few characters: its view form without up to four leading hex
   * digits (or one letter that ends a JSON escape), and without a trailing escape start.
   */
  private static void addWithoutEdgesAnEscapeMayTake(Map<ByteBuffer, byte[]> forms, byte[] view) {
    for (int drop = 1; drop <= 4 && drop < view.length; drop++) {
      byte dropped = view[drop - 1];
      boolean hexDigit = Character.digit(dropped, 16) >= 0;
      boolean escapeLetter = drop == 1 && "\"\\/bfnrtu".indexOf(dropped) >= 0;
      if (!hexDigit && !escapeLetter) {
        break;
      }
      add(forms, Arrays.copyOfRange(view, drop, view.length));
    }
    for (int i = view.length - 1; i >= Math.max(0, view.length - Normalizer.MAX_PENDING); i--) {
      if (view[i] == '%' || view[i] == '\\') {
        add(forms, Arrays.copyOf(view, i));
        break;
      }
    }
  }

  private static void add(Map<ByteBuffer, byte[]> forms, byte[] form) {
    if (form.length > 0) {
      forms.putIfAbsent(ByteBuffer.wrap(form), form);
    }
  }
}
