package io.hodei.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** Every key of values.yaml, at every level, has a comment on the line above it. */
class ValuesCommentsTest {
  private static final Pattern KEY = Pattern.compile("^(\\s*)([A-Za-z0-9_./-]+):(\\s.*)?$");

  @Test
  void everyValueIsDocumented() throws IOException {
    List<String> lines = Files.readAllLines(Chart.DIR.resolve("values.yaml"));
    List<String> undocumented = new ArrayList<>();
    int keys = 0;
    for (int i = 0; i < lines.size(); i++) {
      var key = KEY.matcher(lines.get(i));
      if (!key.matches()) {
        continue;
      }
      keys++;
      String indent = key.group(1);
      int above = i - 1;
      while (above >= 0 && lines.get(above).isBlank()) {
        above--;
      }
      // The comment block right above the key, at its indentation.
      boolean documented = above >= 0 && lines.get(above).startsWith(indent + "#");
      if (!documented) {
        undocumented.add((i + 1) + ": " + lines.get(i).strip());
      }
    }
    assertThat(keys).as("keys found in values.yaml").isGreaterThan(50);
    assertThat(undocumented).as("keys of values.yaml without a comment above them").isEmpty();
  }

  @Test
  void noTabsAndNoSecretsInValues() throws IOException {
    String text = Files.readString(Chart.DIR.resolve("values.yaml"));
    assertThat(text).doesNotContain("\t").doesNotContain("BEGIN ");
    // Secrets are named, never given: every password/token/key entry names a Secret's key.
    assertThat(text.lines().filter(l -> l.strip().startsWith("password:") || l.strip().startsWith("token:"))).isEmpty();
  }
}
