package io.hodei.store;

import io.hodei.core.error.InvalidSpecException;
import java.nio.charset.StandardCharsets;
import java.util.Base64;

/**
 * Where a job listing left off: the sort key of the last job on the page. Listings are newest
 * first, so the next page holds the jobs strictly before {@code (createdAtMillis, jobId)}. Opaque
 * to clients: URL-safe base64 of {@code "createdAtMillis:jobId"}.
 */
record PageToken(long createdAtMillis, String jobId) {
  static final String FIELD = "page_token";

  String encode() {
    return Base64.getUrlEncoder()
        .withoutPadding()
        .encodeToString((createdAtMillis + ":" + jobId).getBytes(StandardCharsets.UTF_8));
  }

  /**
   * @throws InvalidSpecException naming {@code page_token} if {@code token} was not made by {@link
   *     #encode()}
   */
  static PageToken decode(String token) {
    String text;
    try {
      text = new String(Base64.getUrlDecoder().decode(token), StandardCharsets.UTF_8);
    } catch (IllegalArgumentException e) {
      throw malformed();
    }
    int colon = text.indexOf(':');
    if (colon <= 0 || colon == text.length() - 1) {
      throw malformed();
    }
    try {
      return new PageToken(Long.parseLong(text.substring(0, colon)), text.substring(colon + 1));
    } catch (NumberFormatException e) {
      throw malformed();
    }
  }

  private static InvalidSpecException malformed() {
    return new InvalidSpecException(FIELD, "is not a page token issued by this server");
  }
}
